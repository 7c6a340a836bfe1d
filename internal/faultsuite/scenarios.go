package faultsuite

import "time"

// Phase is a stretch of a scenario: what the upstream does and how much
// load the clients offer.
type Phase struct {
	Name     string
	Duration time.Duration // at full length; Options.Scale shortens it
	Fault    Fault
	// Load multiplies the scenario's Rate during the phase. Zero means 1.
	Load float64
	// Down marks a phase in which the dependency cannot serve: requests
	// that reach it then are counted as "reached while down".
	Down bool
}

// Scenario is a scripted story of faults.
type Scenario struct {
	Name  string // file name: letters, digits and '-'
	Title string
	// What says in one sentence what the dependency does.
	What string
	// Rate is the offered load in requests per second, before Phase.Load.
	Rate float64
	// Capacity is how many requests the upstream serves at once; the rest
	// queue. Zero means no limit.
	Capacity int
	// Outage marks a scenario whose Down phases are one long full outage,
	// in which the breaker must cut the requests reaching the dependency
	// by OutageCut.
	Outage bool
	Phases []Phase
}

func (s Scenario) duration(scale float64) time.Duration {
	var d time.Duration
	for _, p := range s.Phases {
		d += scaled(p.Duration, scale)
	}
	return d
}

func scaled(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale)
}

const baseLatency = 5 * time.Millisecond

var (
	healthy = Fault{Kind: Healthy, Latency: baseLatency}
	down    = Fault{Kind: Failing, Latency: baseLatency, FailRate: 1}
)

// Scenarios returns the suite's eight scenarios, at full length.
func Scenarios() []Scenario {
	flapping := []Phase{{Name: "healthy", Duration: 5 * time.Second, Fault: healthy}}
	for range 5 {
		flapping = append(flapping,
			Phase{Name: "fail", Duration: 3 * time.Second, Fault: down, Down: true},
			Phase{Name: "ok", Duration: 3 * time.Second, Fault: healthy})
	}
	flapping = append(flapping, Phase{Name: "healthy", Duration: 7 * time.Second, Fault: healthy})
	return []Scenario{
		{
			Name: "outage", Outage: true, Title: "1. Full outage, then recovery",
			What: "the dependency fails every call (503) for 20 s, then recovers",
			Rate: 50,
			Phases: []Phase{
				{Name: "healthy", Duration: 10 * time.Second, Fault: healthy},
				{Name: "outage: every call 503", Duration: 20 * time.Second, Fault: down, Down: true},
				{Name: "recovered", Duration: 15 * time.Second, Fault: healthy},
			},
		},
		{
			Name: "random-failures", Title: "2. 30 % of calls fail at random",
			What: "30 % of calls get a 503, at random, for 30 s",
			Rate: 50,
			Phases: []Phase{
				{Name: "healthy", Duration: 5 * time.Second, Fault: healthy},
				{Name: "30% fail", Duration: 30 * time.Second, Fault: Fault{Kind: Failing, Latency: baseLatency, FailRate: 0.3}},
				{Name: "healthy", Duration: 10 * time.Second, Fault: healthy},
			},
		},
		{
			Name: "latency", Outage: true, Title: "3. Latency jumps from 5 ms to 2 s",
			What: "every answer takes 2 s instead of 5 ms for 20 s (clients wait at most 1 s)",
			Rate: 50,
			Phases: []Phase{
				{Name: "5 ms", Duration: 10 * time.Second, Fault: healthy},
				{Name: "2 s", Duration: 20 * time.Second, Fault: Fault{Kind: Healthy, Latency: 2 * time.Second}, Down: true},
				{Name: "5 ms", Duration: 15 * time.Second, Fault: healthy},
			},
		},
		{
			Name: "hang", Outage: true, Title: "4. The dependency hangs",
			What: "the dependency accepts connections and requests and never answers, for 20 s",
			Rate: 50,
			Phases: []Phase{
				{Name: "healthy", Duration: 10 * time.Second, Fault: healthy},
				{Name: "hanging", Duration: 20 * time.Second, Fault: Fault{Kind: Hanging}, Down: true},
				{Name: "recovered", Duration: 15 * time.Second, Fault: healthy},
			},
		},
		{
			Name: "restart", Outage: true, Title: "5. The process dies and comes back",
			What: "the dependency resets its keep-alive connections for 1 s, refuses connections for 19 s, then listens again",
			Rate: 50,
			Phases: []Phase{
				{Name: "healthy", Duration: 10 * time.Second, Fault: healthy},
				{Name: "resets", Duration: time.Second, Fault: Fault{Kind: Resetting}, Down: true},
				{Name: "refused", Duration: 19 * time.Second, Fault: Fault{Kind: Dead}, Down: true},
				{Name: "back", Duration: 15 * time.Second, Fault: healthy},
			},
		},
		{
			Name: "overload", Title: "6. Offered load of 5× the capacity",
			What: "the dependency serves 1 request at a time in 50 ms (20/s); the load goes from 15/s to 100/s for 20 s",
			Rate: 15, Capacity: 1,
			Phases: []Phase{
				{Name: "15/s", Duration: 10 * time.Second, Fault: Fault{Kind: Healthy, Latency: 50 * time.Millisecond}},
				{Name: "100/s (5× capacity)", Duration: 20 * time.Second, Load: 100.0 / 15, Fault: Fault{Kind: Healthy, Latency: 50 * time.Millisecond}},
				{Name: "15/s", Duration: 15 * time.Second, Fault: Fault{Kind: Healthy, Latency: 50 * time.Millisecond}},
			},
		},
		{Name: "flapping", Title: "7. Flapping", What: "the dependency alternates 3 s failing every call and 3 s healthy", Rate: 50, Phases: flapping},
		{
			Name: "pushback", Title: "8. 429 and 503 with Retry-After",
			What: "the dependency answers 429 with Retry-After: 1 for 8 s, then 503 with an HTTP-date Retry-After for 8 s",
			Rate: 50,
			Phases: []Phase{
				{Name: "healthy", Duration: 5 * time.Second, Fault: healthy},
				{Name: "429, Retry-After: 1", Duration: 8 * time.Second, Fault: Fault{Kind: Pushback, Status: 429}, Down: true},
				{Name: "healthy", Duration: 5 * time.Second, Fault: healthy},
				{Name: "503, Retry-After: date", Duration: 8 * time.Second, Fault: Fault{Kind: Pushback, Status: 503, RetryAfterDate: true}, Down: true},
				{Name: "healthy", Duration: 10 * time.Second, Fault: healthy},
			},
		},
	}
}
