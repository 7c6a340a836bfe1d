package bulwark_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/timeout"
)

// The README's first example: retry outermost, then the breaker, then a
// timeout per attempt, around a call that fails twice and then succeeds.
func Example_retryBreakerTimeout() {
	br, _ := breaker.New(breaker.Config{
		Name:                 "users-db",
		FailureRateThreshold: 0.5,              // open at 50 % failures
		MinimumCalls:         10,               // once 10 calls were seen
		WaitDuration:         30 * time.Second, // stay open 30 s
		HalfOpenCalls:        3,                // then test with 3 calls
	})
	rt, _ := retry.New(retry.Config{
		Backoff:    retry.Exponential{Initial: time.Millisecond, Multiplier: 2, Max: 10 * time.Millisecond},
		MaxElapsed: time.Second,
		// While the breaker is open, its rejection comes back at once: a
		// local rejection (bulwark.ErrRejected) is not retried.
	})
	to, _ := timeout.New(timeout.Config{Duration: 2 * time.Second})
	users := bulwark.Chain(rt, br, to)

	attempts := 0
	name, err := bulwark.Get(context.Background(), users, func(ctx context.Context) (string, error) {
		attempts++
		if attempts < 3 {
			return "", errors.New("connection reset")
		}
		return "Ada", nil
	})
	fmt.Println(name, err, "after", attempts, "attempts")
	s := br.Snapshot()
	fmt.Println("breaker:", s.State, "calls:", s.Calls, "failures:", s.Failures)
	// Output:
	// Ada <nil> after 3 attempts
	// breaker: closed calls: 3 failures: 2
}
