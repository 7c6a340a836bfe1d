package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
)

// The seed example: open at 50% failures once 10 calls were seen, stay open
// 30 seconds, then test with 3 calls.
func Example() {
	br, err := breaker.New(breaker.Config{
		Name:                 "payments",
		FailureRateThreshold: 0.5,
		MinimumCalls:         10,
		WaitDuration:         30 * time.Second,
		HalfOpenCalls:        3,
		OnStateChange: func(c breaker.Change) {
			fmt.Printf("%s: %v -> %v (%v), open for %v\n", c.Name, c.From, c.To, c.Cause, c.Until.Sub(c.At))
		},
	})
	if err != nil {
		panic(err)
	}
	errDown := errors.New("payments: service unavailable")
	ctx := context.Background()
	reached, rejected := 0, 0
	var last error
	for range 12 {
		_, last = bulwark.Get(ctx, br, func(context.Context) (string, error) {
			reached++
			return "", errDown
		})
		if errors.Is(last, breaker.ErrOpen) {
			rejected++
		}
	}
	fmt.Println("reached the service:", reached, "rejected:", rejected)
	fmt.Println(last)
	var ra bulwark.RetryAfter
	fmt.Println("says when to retry:", errors.As(last, &ra) && ra.RetryAfter() > 29*time.Second)
	// Output:
	// payments: closed -> open (failure-rate), open for 30s
	// reached the service: 10 rejected: 2
	// breaker: payments: open
	// says when to retry: true
}

// Middleware that cannot wrap the call in a function asks first and reports
// the outcome after.
func ExampleBreaker_Allow() {
	br, _ := breaker.New(breaker.Config{Name: "api"})
	handle := func(status int) error {
		permit, err := br.Allow()
		if err != nil {
			return err // rejected: answer 503 without calling the backend
		}
		if status >= 500 {
			permit.Failure()
		} else {
			permit.Success()
		}
		return nil
	}
	for _, status := range []int{200, 503, 200} {
		handle(status)
	}
	s := br.Snapshot()
	fmt.Println(s.State, s.Calls, s.Failures)
	// Output:
	// closed 3 1
}

// Two instances of a service share one breaker's state: each publishes the
// changes its breaker makes by itself and applies the other's. Here the
// "bus" is a function call; in production it would be Redis or the like.
func ExampleBreaker_OpenUntil() {
	cfg := breaker.Config{Window: breaker.WindowConsecutive, WindowSize: 3}
	a, _ := breaker.New(cfg)
	b, _ := breaker.New(cfg)
	share := func(from, to *breaker.Breaker) {
		from.AddListener(func(c breaker.Change) {
			if c.Cause == breaker.CauseExternal {
				return // applied from the bus: do not echo it back
			}
			switch c.To {
			case breaker.StateOpen:
				to.OpenUntil(c.Until)
			case breaker.StateClosed:
				to.CloseNow()
			}
		})
	}
	share(a, b)
	share(b, a)

	fail := func(context.Context) error { return errors.New("down") }
	for range 3 {
		bulwark.Run(context.Background(), a, fail)
	}
	fmt.Println("a:", a.State(), "b:", b.State())
	fmt.Println("same end of wait:", a.Snapshot().OpenUntil.Equal(b.Snapshot().OpenUntil))
	// Output:
	// a: open b: open
	// same end of wait: true
}
