// Package simulate runs bulwark's real policies against a simulated
// dependency and simulated clients in simulated time, so that an hour of
// traffic through a policy configuration takes seconds and shows what the
// configuration would have done: how many calls succeeded, were rejected or
// timed out, how many reached the dependency while it was down, how soon
// traffic recovered.
//
// A [Scenario] states the offered load over time (constant, ramps, bursts,
// a diurnal curve), the dependency's behaviour in phases (a latency
// distribution, an error rate, hanging, refusing, a capacity beyond which
// calls queue) and the clients' behaviour (deadlines, retries, how many give
// up), or replays a recorded trace. The policies are not modelled: the
// [Target] calls them, and they call the [Dependency].
//
//	s, err := simulate.New(scenario, simulate.Options{Runtime: rt})
//	// build the policies, with s.Dependency().Call (or .Transport()) as
//	// the operation they protect
//	res, err := s.Run(ctx, target)
//	res.WriteJSON(os.Stdout)
//
// # Time
//
// The simulation runs in the time of a [Runtime]: a [VirtualClock], which
// is also the bulwark.Clock to give every policy (Config.Clock), or inside
// a testing/synctest bubble the bubble's time, which the policies read
// without a Clock. Events (arrivals, the dependency's answers, clients'
// deadlines) run one at a time in order of time, each followed by
// Runtime.Settle, so that the same seed gives the same bytes. Run a
// VirtualClock with runtime.GOMAXPROCS(1): its settle is then exact and
// costs about a microsecond; with more Ps it is a thousand times slower.
//
// # Outcomes
//
// A Target names how each request ended; "ok" is the name of success,
// which the summary's recovery time looks for.
package simulate
