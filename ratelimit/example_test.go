package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/ratelimit"
)

func Example() {
	// 2 events per second, up to 3 at once.
	lim, err := ratelimit.New(ratelimit.Config{Name: "api", Rate: 2, Burst: 3})
	if err != nil {
		panic(err)
	}
	start := time.Now()
	for i := range 4 {
		d := lim.CheckN(start, 1)
		fmt.Printf("call %d: allowed %v, remaining %d, retry after %v\n", i, d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Half a second later one event is back.
	fmt.Println("after 500ms:", lim.AllowAt(start.Add(500*time.Millisecond)))

	// As a policy, a refusal is an error that says when to come back.
	_, err = bulwark.Get(context.Background(), lim, func(context.Context) (string, error) { return "data", nil })
	var ra bulwark.RetryAfter
	fmt.Println(errors.Is(err, ratelimit.ErrLimited), errors.As(err, &ra))
	// Output:
	// call 0: allowed true, remaining 2, retry after 0s
	// call 1: allowed true, remaining 1, retry after 0s
	// call 2: allowed true, remaining 0, retry after 0s
	// call 3: allowed false, remaining 0, retry after 500ms
	// after 500ms: true
	// true true
}

func ExampleKeyed() {
	perClient, err := ratelimit.NewKeyed(ratelimit.KeyedConfig{
		Config:  ratelimit.Config{Name: "clients", Limit: 10, Per: time.Minute},
		MaxKeys: 50_000,
	})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	fmt.Println(perClient.AllowKeyN("10.0.0.1", now, 1))
	fmt.Println(perClient.AllowKeyN("10.0.0.1", now, 1)) // 6s apart, smooth
	fmt.Println(perClient.AllowKeyN("10.0.0.2", now, 1)) // another client
	fmt.Println(perClient.CheckKeyN("10.0.0.1", now.Add(6*time.Second), 1).Allowed)
	// Output:
	// true
	// false
	// true
	// true
}
