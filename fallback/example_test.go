package fallback_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/fallback"
)

func ExampleNew() {
	fb, err := fallback.New(fallback.Config{
		Name: "recommendations",
		Func: fallback.For(func(_ context.Context, err error) ([]string, error) {
			fmt.Println("serving the fallback after:", err)
			return []string{"bestseller"}, nil
		}),
	})
	if err != nil {
		panic(err)
	}
	items, err := bulwark.Get(context.Background(), fb, func(context.Context) ([]string, error) {
		return nil, errors.New("recommender unavailable")
	})
	fmt.Println(items, err)
	// Output:
	// serving the fallback after: recommender unavailable
	// [bestseller] <nil>
}

// IsHandled chooses which failures to replace; the caller's own cancellation
// is never replaced.
func ExampleConfig_handles() {
	errNotFound := errors.New("not found")
	fb, _ := fallback.New(fallback.Config{
		Func:      fallback.Value(0),
		IsHandled: func(err error) bool { return !errors.Is(err, errNotFound) }, // a miss is an answer
	})
	call := func(ctx context.Context, callErr error) {
		n, err := bulwark.Get(ctx, fb, func(context.Context) (int, error) { return 42, callErr })
		fmt.Println(n, err)
	}
	call(context.Background(), errors.New("connection reset"))
	call(context.Background(), errNotFound)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	call(ctx, context.Canceled)
	// Output:
	// 0 <nil>
	// 42 not found
	// 42 context canceled
}
