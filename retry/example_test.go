package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/retry"
)

func ExampleNew() {
	rt, err := retry.New(retry.Config{
		MaxAttempts: 4,
		Backoff:     retry.Exponential{Initial: time.Millisecond, Multiplier: 2, Max: 10 * time.Millisecond},
		OnRetry: func(_ context.Context, e retry.Event) {
			fmt.Printf("attempt %d in %v after: %v\n", e.Attempt, e.Delay, e.Err)
		},
	})
	if err != nil {
		panic(err)
	}
	calls := 0
	n, err := bulwark.Get(context.Background(), rt, func(context.Context) (int, error) {
		calls++
		if calls < 3 {
			return 0, errors.New("connection refused")
		}
		return 42, nil
	})
	fmt.Println(n, err)
	// Output:
	// attempt 2 in 1ms after: connection refused
	// attempt 3 in 2ms after: connection refused
	// 42 <nil>
}

func ExamplePermanent() {
	rt, _ := retry.New(retry.Config{MaxAttempts: 5})
	errNotFound := errors.New("not found")
	calls := 0
	err := bulwark.Run(context.Background(), rt, func(context.Context) error {
		calls++
		return retry.Permanent(errNotFound) // retrying will not help
	})
	fmt.Println(calls, err, errors.Is(err, errNotFound))
	// Output:
	// 1 not found true
}

func ExampleExhaustedError() {
	rt, _ := retry.New(retry.Config{MaxAttempts: 3, Backoff: retry.Constant{Interval: time.Millisecond}})
	errDown := errors.New("service unavailable")
	err := bulwark.Run(context.Background(), rt, func(context.Context) error { return errDown })

	var ex *retry.ExhaustedError
	if errors.As(err, &ex) {
		fmt.Println(ex.Attempts, ex.Reason, ex.Last)
	}
	fmt.Println(errors.Is(err, retry.ErrExhausted), errors.Is(err, errDown))
	// Output:
	// 3 max attempts service unavailable
	// true true
}

func ExampleNewBudget() {
	// One budget for every retry policy that calls the same dependency:
	// retries may add 20% to the calls of the last 10 s, plus 10 per second.
	budget, err := retry.NewBudget(retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	rt, _ := retry.New(retry.Config{Budget: budget})
	_ = rt
	fmt.Println(budget.Snapshot().Available)
	// Output:
	// 100
}
