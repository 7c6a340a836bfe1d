package bulwark_test

import (
	"context"
	"fmt"

	"github.com/bulwark-go/bulwark"
)

// logging is a tiny policy that prints around the call.
type logging string

func (l logging) Execute(ctx context.Context, op bulwark.Operation) (any, error) {
	fmt.Println("enter", string(l))
	defer fmt.Println("leave", string(l))
	return op.Call(ctx)
}

// Chain(a, b) behaves as a(b(fn)); Get keeps the result's type.
func ExampleChain() {
	p := bulwark.Chain(logging("outer"), logging("inner"))
	n, err := bulwark.Get(context.Background(), p, func(context.Context) (int, error) {
		fmt.Println("call")
		return 42, nil
	})
	fmt.Println(n, err)
	// Output:
	// enter outer
	// enter inner
	// call
	// leave inner
	// leave outer
	// 42 <nil>
}
