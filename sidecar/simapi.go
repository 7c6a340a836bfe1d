package sidecar

import (
	"context"

	"github.com/bulwark-go/bulwark/simulate"
)

// NewSimulation makes one run of the scenario sf against cfg, for Go
// programs and tests that drive `bulwark simulate`'s engine themselves:
// the simulation (with a gauge for each route's breaker, bulkhead and rate
// limiter) and the target its clients call, which sends each request
// through the server's own handler to the route sf.Route names (default:
// the first). It takes cfg over: the routes' retries, breakers and chaos
// are seeded from sf.Seed, and their timers read rt when rt is a
// [bulwark.Clock] (a [simulate.VirtualClock]); inside a testing/synctest
// bubble, pass a Runtime of the bubble's time and the policies read that.
// Call Run on the simulation once, with the target or a wrapper of it.
func NewSimulation(cfg *Config, sf *ScenarioFile, rt simulate.Runtime) (*simulate.Sim, simulate.Target, error) {
	return simulation(cfg, sf, rt)
}

type simMethodKey struct{}

// WithSimulatedMethod returns a context under which the target of
// [NewSimulation] sends its request with method instead of GET: a
// wrapping target uses it to make some requests non-idempotent (POST),
// which the route's retry never sends twice.
func WithSimulatedMethod(ctx context.Context, method string) context.Context {
	return context.WithValue(ctx, simMethodKey{}, method)
}
