package bulwark

import (
	"context"
	"fmt"
)

// Chain composes policies so that Chain(a, b, c) behaves as a(b(c(fn))):
// the first policy is the outermost. Nested chains are flattened. Chain with
// no policies runs the operation as it is; Chain with one returns it.
//
// Chain panics if a policy is nil, naming its position: that is a programming
// error, like registering a nil http.Handler.
//
// A call through a chain of up to 8 policies allocates once.
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
	return &chain{policies: flat}
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
	cc := &chainCall{policies: c.policies, op: op}
	n := len(c.policies) // steps[i] runs policy i+1 .. and finally op
	if n <= inlineSteps {
		cc.steps = cc.inline[:n]
	} else {
		cc.steps = make([]chainStep, n)
	}
	for i := range cc.steps {
		cc.steps[i] = chainStep{call: cc, i: i + 1}
	}
	return c.policies[0].Execute(ctx, &cc.steps[0])
}
