package hedge_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/hedge"
)

// The first attempt hangs; the hedge started after the delay answers, and
// the first attempt is cancelled.
func Example() {
	h, err := hedge.New(hedge.Config{Name: "search", Delay: 10 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	var n atomic.Int32
	search := func(ctx context.Context) (string, error) {
		if n.Add(1) == 1 { // a replica that hangs
			<-ctx.Done()
			return "", ctx.Err()
		}
		return "results from replica 2", nil
	}
	page, err := bulwark.Get(context.Background(), h, search)
	fmt.Println(page, err)
	s := h.Snapshot()
	fmt.Println("calls", s.Calls, "hedges", s.Hedges, "hedge wins", s.HedgeWins)
	// Output:
	// results from replica 2 <nil>
	// calls 1 hedges 1 hedge wins 1
}
