package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/timeout"
)

func ExampleNew() {
	to, err := timeout.New(timeout.Config{Name: "search", Duration: 10 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	_, err = bulwark.Get(context.Background(), to, func(ctx context.Context) ([]string, error) {
		<-ctx.Done() // a search that is far too slow
		return nil, ctx.Err()
	})
	fmt.Println(err)
	fmt.Println(errors.Is(err, timeout.ErrTimeout))
	// Output:
	// timeout: call exceeded its 10ms deadline
	// true
}

// A detached timeout returns on time even when the operation ignores ctx.
func ExampleConfig_detached() {
	to, _ := timeout.New(timeout.Config{Duration: 10 * time.Millisecond, Detached: true})
	release := make(chan struct{})
	defer close(release)
	_, err := bulwark.Get(context.Background(), to, func(context.Context) (int, error) {
		<-release // ignores ctx
		return 1, nil
	})
	fmt.Println(errors.Is(err, timeout.ErrTimeout))
	// Output:
	// true
}
