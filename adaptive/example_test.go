package adaptive_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
)

// Calls beyond the limit are shed at once; a critical call still gets in
// through its reserve.
func Example() {
	lim, err := adaptive.New(adaptive.Config{
		Name:         "db",
		Algorithm:    adaptive.AIMD{}, // moves only after a window of calls
		InitialLimit: 2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()

	// Two calls in flight fill the limit.
	a, _ := lim.Acquire(ctx)
	b, _ := lim.Acquire(ctx)

	_, err = bulwark.Get(ctx, lim, func(context.Context) (string, error) { return "rows", nil })
	fmt.Println(errors.Is(err, adaptive.ErrOverloaded), err)

	critical := adaptive.WithPriority(ctx, adaptive.PriorityCritical)
	rows, err := bulwark.Get(critical, lim, func(context.Context) (string, error) { return "rows", nil })
	fmt.Println(rows, err)

	a.OnSuccess()
	b.Done(nil)
	s := lim.Snapshot()
	fmt.Println("limit", s.Limit, "in flight", s.InFlight, "admitted", s.Admitted, "shed", s.Shed)
	// Output:
	// true adaptive: overloaded: 2 calls in flight, limit 2 (priority normal)
	// rows <nil>
	// limit 2 in flight 0 admitted 3 shed 1
}
