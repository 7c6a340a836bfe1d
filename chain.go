package bulwark

import (
	"context"
	"fmt"
	"sync"
)

// Chain composes policies so that Chain(a, b, c) behaves as a(b(c(fn))):
// the first policy is the outermost. Nested chains are flattened. Chain with
// no policies runs the operation as it is; Chain with one returns it.
//
// Chain panics if a policy is nil, naming its position: that is a programming
// error, like registering a nil http.Handler.
//
// A call through a chain allocates its per-call state once (a chain of more
// than 8 policies twice), unless every policy in it is [Synchronous]: then
// the state is reused and the call allocates nothing.
func Chain(policies ...Policy) Policy {
	var flat []Policy
	for i, p := range policies {
		switch p := p.(type) {
		case nil:
			panic(fmt.Sprintf("bulwark: Chain: policy %d of %d is nil", i, len(policies)))
		case *chain:
			flat = append(flat, p.policies...)
		default:
			flat = append(flat, p)
		}
	}
	switch len(flat) {
	case 0:
		return passThrough{}
	case 1:
		return flat[0]
	}
	c := &chain{policies: flat, reuse: true}
	for _, p := range flat {
		if s, ok := p.(Synchronous); !ok || !s.Synchronous() {
			c.reuse = false
		}
	}
	return c
}

// Synchronous is implemented by policies that can promise to call the
// Operation given to Execute only before Execute returns: they never leave
// an attempt running behind them. Synchronous reports whether the promise
// holds for this instance (a timeout in detached mode, for example, cannot
// make it).
//
// A chain made only of policies that make the promise reuses its per-call
// state, so calls through it do not allocate. A policy that claims the
// promise and breaks it would let a late attempt run another call's
// operation; leave the method out when in doubt.
type Synchronous interface {
	Synchronous() bool
}

// Policies returns the policies of a chain built by [Chain], outermost first.
// For any other policy it returns a slice holding just that policy.
func Policies(p Policy) []Policy {
	switch p := p.(type) {
	case *chain:
		return append([]Policy(nil), p.policies...)
	case passThrough:
		return nil
	}
	return []Policy{p}
}

type passThrough struct{}

func (passThrough) Execute(ctx context.Context, op Operation) (any, error) { return op.Call(ctx) }

type chain struct {
	policies []Policy
	reuse    bool      // every policy is Synchronous: per-call state is pooled
	pool     sync.Pool // of *chainCall, when reuse
}

const inlineSteps = 8

// chainCall holds the state of one call through a chain: the operation and
// one step per inner policy. It is allocated once per call; steps point into
// it, so passing a step as an Operation does not allocate again.
type chainCall struct {
	policies []Policy
	op       Operation
	inline   [inlineSteps]chainStep
	steps    []chainStep
}

// chainStep i runs policies[i] around the rest of the chain, or the
// operation itself when i == len(policies).
type chainStep struct {
	call *chainCall
	i    int
}

func (s *chainStep) Call(ctx context.Context) (any, error) {
	c := s.call
	if s.i == len(c.policies) {
		return c.op.Call(ctx)
	}
	return c.policies[s.i].Execute(ctx, &c.steps[s.i])
}

func (c *chain) Execute(ctx context.Context, op Operation) (any, error) {
	if !c.reuse {
		cc := c.newCall()
		cc.op = op
		return c.policies[0].Execute(ctx, &cc.steps[0])
	}
	cc, _ := c.pool.Get().(*chainCall)
	if cc == nil {
		cc = c.newCall()
	}
	cc.op = op
	v, err := c.policies[0].Execute(ctx, &cc.steps[0])
	// Every policy is Synchronous, so no step is used after this point. (If
	// a policy panicked, cc is simply not put back.)
	cc.op = nil
	c.pool.Put(cc)
	return v, err
}

// newCall makes the per-call state: steps[i] runs policy i+1, and the last
// step runs the operation.
func (c *chain) newCall() *chainCall {
	cc := &chainCall{policies: c.policies}
	n := len(c.policies)
	if n <= inlineSteps {
		cc.steps = cc.inline[:n]
	} else {
		cc.steps = make([]chainStep, n)
	}
	for i := range cc.steps {
		cc.steps[i] = chainStep{call: cc, i: i + 1}
	}
	return cc
}
