package breaker

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestListenersInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log []string
		var mu sync.Mutex
		add := func(who string) func(Change) {
			return func(c Change) {
				mu.Lock()
				log = append(log, who+":"+c.From.String()+">"+c.To.String())
				mu.Unlock()
			}
		}
		br := mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, OnStateChange: add("config")})
		br.AddListener(add("first"))
		remove := br.AddListener(add("second"))
		calls(t, br, 1, errBoom)
		remove()
		remove() // twice is harmless
		br.ForceClosed()
		want := "config:closed>open first:closed>open second:closed>open config:open>forced-closed first:open>forced-closed"
		mu.Lock()
		got := join(log)
		mu.Unlock()
		if got != want {
			t.Errorf("calls\n got %s\nwant %s", got, want)
		}
	})
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

// TestListenerReentrancy: a listener may call the breaker, including
// methods that change its state; the changes it causes are delivered
// after it returns, in order.
func TestListenerReentrancy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var br *Breaker
		var tr transitions
		depth, maxDepth := 0, 0
		br = mustNew(t, Config{Window: WindowConsecutive, WindowSize: 1, OnStateChange: func(c Change) {
			depth++
			maxDepth = max(maxDepth, depth)
			defer func() { depth-- }()
			tr.listen(c)
			br.Snapshot()
			br.State()
			switch c.To {
			case StateOpen:
				br.ForceClosed()
				if br.State() != StateForcedClosed {
					t.Errorf("state %v inside the listener", br.State())
				}
			case StateForcedClosed:
				br.Reset()
			}
			if p, err := br.Allow(); err == nil {
				p.Success()
			}
		}})
		calls(t, br, 1, errBoom)
		wantState(t, br, StateClosed)
		want := "closed>open(consecutive-failures) open>forced-closed(manual) forced-closed>closed(manual)"
		if got := tr.String(); got != want {
			t.Errorf("transitions\n got %s\nwant %s", got, want)
		}
		if maxDepth != 1 {
			t.Errorf("listener nested %d deep", maxDepth)
		}
	})
}

// TestListenersNeverConcurrent changes the state from many goroutines and
// checks that the listener runs one call at a time and sees an unbroken
// chain of changes. The bubble lets the test wait for the last delivery.
func TestListenersNeverConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inside atomic.Bool
		var mu sync.Mutex
		var last State = StateClosed
		broken, count := 0, 0
		br := mustNew(t, Config{WindowSize: 4, MinimumCalls: 2, WaitDuration: time.Microsecond, MaxHalfOpen: time.Microsecond,
			OnStateChange: func(c Change) {
				if !inside.CompareAndSwap(false, true) {
					t.Error("listener called concurrently")
				}
				runtime.Gosched()
				mu.Lock()
				if c.From != last {
					broken++
				}
				last = c.To
				count++
				mu.Unlock()
				inside.Store(false)
			}})
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				for i := range 300 {
					switch (i + g) % 7 {
					case 0:
						br.ForceOpen()
					case 1:
						br.Reset()
					case 2:
						br.OpenUntil(time.Now().Add(time.Microsecond))
					case 3:
						br.Disable()
					default:
						call(br, errBoom)
					}
				}
			})
		}
		wg.Wait()
		br.Reset()
		br.ForceOpen()
		synctest.Wait() // whichever goroutine is delivering has finished
		mu.Lock()
		defer mu.Unlock()
		if broken != 0 {
			t.Errorf("%d of %d changes did not start where the previous one ended", broken, count)
		}
		if last != StateForcedOpen {
			t.Errorf("last change to %v, want forced-open", last)
		}
		if count < 100 {
			t.Errorf("only %d changes: the test did not exercise the queue", count)
		}
	})
}

// TestListenerPanic: a panicking listener does not wedge the breaker; the
// change it was given is not retried, later ones are delivered.
func TestListenerPanic(t *testing.T) {
	var tr transitions
	br := mustNew(t, Config{OnStateChange: func(c Change) {
		if c.To == StateForcedOpen {
			panic("listener")
		}
	}})
	br.AddListener(tr.listen)
	func() {
		defer func() {
			if r := recover(); r != "listener" {
				t.Errorf("recovered %v", r)
			}
		}()
		br.ForceOpen()
	}()
	wantState(t, br, StateForcedOpen)
	br.Reset()
	if got := tr.String(); got != "forced-open>closed(manual)" {
		t.Errorf("transitions after the panic %q", got)
	}
}

func TestAddNilListenerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	mustNew(t, Config{}).AddListener(nil)
}
