package bench

import (
	"context"
	"errors"
)

// payload is returned by the "Struct" variants. bulwark boxes results in
// an interface; an int below 256 boxes without allocating, a 24-byte struct
// does not, so the Struct variants show the honest cost for real results.
type payload struct {
	ID   int64
	Name string
}

var (
	errBoom = errors.New("boom")

	sinkInt     int
	sinkPayload payload
	sinkErr     error
	sinkBool    bool
)

func opInt(context.Context) (int, error) { return 42, nil }

// opPayload is marked noinline so the compiler cannot see the value is a
// constant and box it statically.
//
//go:noinline
func opPayload(context.Context) (payload, error) { return payload{ID: 7, Name: "seven"}, nil }

func opFail(context.Context) (int, error) { return 0, errBoom }

func plainInt() (int, error)         { return 42, nil }
func plainPayload() (payload, error) { return opPayload(context.Background()) }
func plainErr() error                { return nil }
func plainFail() error               { return errBoom }
