package bulwark_test

import (
	"context"
	"sync"
	"testing"

	"github.com/bulwark-go/bulwark"
)

// syncPolicy passes the call through and makes the Synchronous promise.
type syncPolicy struct{}

func (syncPolicy) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return op.Call(ctx)
}
func (syncPolicy) Synchronous() bool { return true }

// lateCaller returns at once and calls the operation later, from another
// goroutine, as a detached timeout or a hedge may. It makes no promise.
type lateCaller struct {
	wg      *sync.WaitGroup
	release chan struct{}
	got     chan any
}

func (p lateCaller) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		<-p.release
		v, _ := op.Call(ctx)
		p.got <- v
	}()
	return "early", nil
}

func TestSynchronousChainDoesNotAllocate(t *testing.T) {
	p := bulwark.Chain(syncPolicy{}, syncPolicy{}, syncPolicy{})
	x := new(int)
	fn := func(context.Context) (*int, error) { return x, nil }
	ctx := context.Background()
	bulwark.Get(ctx, p, fn) // warm the pool
	if n := testing.AllocsPerRun(1000, func() { bulwark.Get(ctx, p, fn) }); n != 0 {
		t.Errorf("a chain of synchronous policies allocates %v times a call", n)
	}
	// One policy without the promise turns reuse off.
	q := bulwark.Chain(syncPolicy{}, bulwark.Chain(), tracerNoPromise{})
	if n := testing.AllocsPerRun(100, func() { bulwark.Get(ctx, q, fn) }); n != 1 {
		t.Errorf("a chain with a policy that makes no promise allocates %v times, want 1", n)
	}
}

type tracerNoPromise struct{}

func (tracerNoPromise) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	return op.Call(ctx)
}

// TestLateCallRunsItsOwnOperation: a policy that calls the operation after
// Execute returned must still run the operation of its own call, even when
// other calls went through the chain meanwhile.
func TestLateCallRunsItsOwnOperation(t *testing.T) {
	const calls = 100
	var wg sync.WaitGroup
	late := lateCaller{wg: &wg, release: make(chan struct{}), got: make(chan any, calls)}
	p := bulwark.Chain(syncPolicy{}, late, syncPolicy{})
	want := map[any]bool{}
	for i := range calls {
		want[i] = true
		// The late policy answers "early" before running anything, so Get
		// reports a ResultTypeError; what matters is what runs later.
		bulwark.Get(context.Background(), p, func(context.Context) (int, error) { return i, nil })
	}
	close(late.release)
	wg.Wait()
	close(late.got)
	for v := range late.got {
		if !want[v] {
			t.Errorf("a late attempt ran %v: not an operation of its own call, or one run twice", v)
		}
		delete(want, v)
	}
	if len(want) != 0 {
		t.Errorf("%d calls' operations never ran", len(want))
	}
}
