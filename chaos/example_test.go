package chaos_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/chaos"
)

// An injector fails a share of calls; with a seed the same calls fail on
// every run.
func Example() {
	errDown := errors.New("payments down")
	inj, err := chaos.New(chaos.Config{
		Name:    "payments",
		Faults:  []chaos.Fault{chaos.Error(0.3, errDown)},
		Seed:    7,
		Enabled: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	pay := func(context.Context) (string, error) { return "paid", nil }

	failed := 0
	for range 1000 {
		if _, err := bulwark.Get(context.Background(), inj, pay); errors.Is(err, errDown) {
			failed++
		}
	}
	fmt.Println("failed about 30%:", failed > 250 && failed < 350)

	inj.Disable()
	v, err := bulwark.Get(context.Background(), inj, pay)
	fmt.Println(v, err)
	s := inj.Snapshot()
	fmt.Println(s.Calls, s.Errors == uint64(failed))
	// Output:
	// failed about 30%: true
	// paid <nil>
	// 1001 true
}

// Faults can be switched at run time: a latency fault may be turned up
// during a game day, then off again.
func ExampleInjector_SetRate() {
	inj, _ := chaos.New(chaos.Config{
		Faults:  []chaos.Fault{chaos.Result(0, "cached")},
		Enabled: true,
	})
	get := func(context.Context) (string, error) { return "fresh", nil }

	v, _ := bulwark.Get(context.Background(), inj, get)
	fmt.Println(v)
	if err := inj.SetRate(chaos.KindResult, 1); err != nil {
		fmt.Println(err)
	}
	v, _ = bulwark.Get(context.Background(), inj, get)
	fmt.Println(v)
	fmt.Println(inj.SetRate(chaos.KindLatency, 0.5))
	// Output:
	// fresh
	// cached
	// chaos: SetRate: no latency fault is configured
}
