package bulkhead_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/bulkhead"
)

func Example() {
	pools, err := bulkhead.NewRegistry(map[string]bulkhead.Config{
		"db":  {MaxConcurrent: 20},
		"api": {MaxConcurrent: 1},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	api := pools.Get("api")

	// A slow call to the API holds the API's only permit...
	if err := api.Acquire(ctx); err != nil {
		panic(err)
	}
	// ...so the next API call is turned away,
	_, err = bulwark.Get(ctx, api, func(context.Context) (string, error) { return "profile", nil })
	fmt.Println(err, errors.Is(err, bulkhead.ErrFull))
	// while the database keeps its own 20 permits.
	user, err := bulwark.Get(ctx, pools.Get("db"), func(context.Context) (string, error) { return "ada", nil })
	fmt.Println(user, err)
	api.Release()

	s := api.Snapshot()
	fmt.Printf("api: capacity %d, in use %d, rejected %d\n", s.Capacity, s.InUse, s.Rejected)
	// Output:
	// bulkhead "api": full (1 concurrent calls) true
	// ada <nil>
	// api: capacity 1, in use 0, rejected 1
}

// Middleware that cannot wrap a function takes and gives back a permit in
// two steps.
func ExampleBulkhead_TryAcquire() {
	b, _ := bulkhead.New(bulkhead.Config{Name: "uploads", MaxConcurrent: 2})
	for i := range 3 {
		if !b.TryAcquire() {
			fmt.Println("request", i, "-> 503")
			continue
		}
		fmt.Println("request", i, "-> handled")
		// The permit is given back when the handler returns; here, never,
		// to fill the bulkhead.
	}
	b.Release()
	b.Release()
	// Output:
	// request 0 -> handled
	// request 1 -> handled
	// request 2 -> 503
}
