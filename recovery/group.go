package recovery

import (
	"context"
	"fmt"
	"sync"
)

// A Group runs goroutines for one task and waits for them, like
// golang.org/x/sync/errgroup, except that a panic in one of them is
// recovered, reported and returned as a *[PanicError] instead of ending the
// process.
//
// The zero Group is valid, has no limit on active goroutines and does not
// cancel anything on error. A Group must not be copied after first use; its
// methods are safe for concurrent use, except that SetLimit must not run
// while goroutines are active.
type Group struct {
	// Reporter receives the group's panics; nil means the package default.
	// Set it before the first call to Go.
	Reporter *Reporter

	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	errOnce sync.Once
	err     error
}

// WithContext returns a new Group and a context derived from ctx that is
// cancelled, with the error as its cause, the first time a goroutine of the
// group returns an error or panics, or when Wait returns, whichever comes
// first.
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancelCause(ctx)
	return &Group{cancel: cancel}, ctx
}

// SetLimit limits the number of goroutines of the group that run at once to
// n; Go then blocks and TryGo fails while n are running. A negative n removes
// the limit. SetLimit panics if n is 0 (no goroutine could ever run) or if
// goroutines of the group are running.
func (g *Group) SetLimit(n int) {
	if n == 0 {
		panic("recovery: Group.SetLimit(0): a limit must be at least 1 (or negative for none)")
	}
	if len(g.sem) != 0 {
		panic(fmt.Sprintf("recovery: Group.SetLimit(%d) while %d goroutines of the group are running", n, len(g.sem)))
	}
	if n < 0 {
		g.sem = nil
		return
	}
	g.sem = make(chan struct{}, n)
}

// Go runs fn in a new goroutine of the group, first waiting for a free slot
// if the group has a limit. The first non-nil error (a returned error, a
// *PanicError or ErrGoexit) is kept for Wait and cancels the group's context.
func (g *Group) Go(fn func() error) {
	if g.sem != nil {
		g.sem <- struct{}{}
	}
	g.start(fn)
}

// TryGo runs fn in a new goroutine of the group if the group's limit allows
// it now, and reports whether it did.
func (g *Group) TryGo(fn func() error) bool {
	if g.sem != nil {
		select {
		case g.sem <- struct{}{}:
		default:
			return false
		}
	}
	g.start(fn)
	return true
}

func (g *Group) start(fn func() error) {
	g.wg.Add(1)
	r := g.Reporter // nil: the default when a panic is reported
	go func() {
		var err error
		defer func() {
			if err != nil {
				g.errOnce.Do(func() {
					g.err = err
					if g.cancel != nil {
						g.cancel(err)
					}
				})
			}
			if g.sem != nil {
				<-g.sem
			}
			g.wg.Done()
		}()
		r.run(fn, &err)
	}()
}

// Wait waits for every goroutine started with Go or TryGo to end, then
// returns the first error among them, panics included, or nil.
func (g *Group) Wait() error {
	g.wg.Wait()
	if g.cancel != nil {
		g.cancel(g.err)
	}
	return g.err
}
