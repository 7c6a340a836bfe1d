// Command quickstart puts a retry and a circuit breaker in front of a
// simulated dependency that fails for a while and then recovers, and prints,
// second by second, what each call met and the breaker's state.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/retry"
)

// dependency is a simulated service: healthy, then down between downFrom
// and downUntil (seconds since start), then healthy again.
type dependency struct {
	start               time.Time
	downFrom, downUntil time.Duration
	calls               atomic.Int64
}

var errUnavailable = errors.New("dependency: 503 service unavailable")

func (d *dependency) call(ctx context.Context) (string, error) {
	d.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if t := time.Since(d.start); t >= d.downFrom && t < d.downUntil {
		return "", errUnavailable
	}
	return "ok", nil
}

func main() {
	if err := run(os.Stdout, 12, 4); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run makes perSecond calls a second for seconds seconds and prints a line a
// second.
func run(out io.Writer, seconds, perSecond int) error {
	// The listener runs on whichever goroutine changed the state: a call,
	// or the breaker's own timer when the open wait ends.
	var mu sync.Mutex
	var transitions []string
	br, err := breaker.New(breaker.Config{
		Name:                 "dependency",
		WindowSize:           10,
		MinimumCalls:         4,
		FailureRateThreshold: 0.5,
		WaitDuration:         2 * time.Second,
		HalfOpenCalls:        2,
		OnStateChange: func(c breaker.Change) {
			mu.Lock()
			defer mu.Unlock()
			transitions = append(transitions, fmt.Sprintf("%s→%s", c.From, c.To))
		},
	})
	if err != nil {
		return err
	}
	var retried atomic.Int64
	rt, err := retry.New(retry.Config{
		Name:        "dependency",
		MaxAttempts: 3,
		Backoff:     retry.Constant{Interval: 20 * time.Millisecond},
		// An open breaker's rejection is not retried (it would only be
		// rejected again): retry.Config.RetryRejected is false by default.
		OnRetry: func(context.Context, retry.Event) { retried.Add(1) },
	})
	if err != nil {
		return err
	}
	policy := bulwark.Chain(rt, br) // retry(breaker(call))

	dep := &dependency{start: time.Now(), downFrom: 3 * time.Second, downUntil: 7 * time.Second}
	fmt.Fprintf(out, "dependency healthy, down from %v to %v, then healthy; %d calls a second through retry(breaker(call))\n\n",
		dep.downFrom, dep.downUntil, perSecond)
	fmt.Fprintf(out, "%-4s %-10s %s\n", "sec", "breaker", "what each call met")
	interval := time.Second / time.Duration(perSecond)
	for sec := 0; sec < seconds; sec++ {
		var met []string
		for i := range perSecond {
			// Call number n happens n intervals after the start.
			time.Sleep(time.Until(dep.start.Add(time.Duration(sec*perSecond+i) * interval)))
			stateBefore := br.State()
			retried.Store(0)
			before := dep.calls.Load()
			_, err := bulwark.Get(context.Background(), policy, dep.call)
			reached := dep.calls.Load() - before
			met = append(met, describe(stateBefore, err, retried.Load(), reached))
		}
		fmt.Fprintf(out, "%-4d %-10s %s", sec, br.State(), strings.Join(met, ", "))
		mu.Lock()
		if len(transitions) > 0 {
			fmt.Fprintf(out, "   [%s]", strings.Join(transitions, ", "))
			transitions = transitions[:0]
		}
		mu.Unlock()
		fmt.Fprintln(out)
	}
	s := br.Snapshot()
	fmt.Fprintf(out, "\ndependency saw %d calls; breaker now %s (window: %d calls, %.0f%% failed)\n",
		dep.calls.Load(), s.State, s.Calls, 100*s.FailureRate)
	return nil
}

// describe names what one call met.
func describe(before breaker.State, err error, retries, reached int64) string {
	var what string
	switch {
	case errors.Is(err, breaker.ErrOpen) && reached == 0:
		what = "rejected"
	case errors.Is(err, breaker.ErrOpen):
		what = fmt.Sprintf("failed %d×, then rejected", reached)
	case err != nil && retries > 0:
		what = fmt.Sprintf("failed after %d retries", retries)
	case err != nil:
		what = "failed"
	case retries > 0:
		what = fmt.Sprintf("ok after %d retries", retries)
	default:
		what = "ok"
	}
	if before == breaker.StateHalfOpen && reached > 0 {
		what = "probe " + what
	}
	return what
}
