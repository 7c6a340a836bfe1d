// Package demo is the `bulwark demo` command's engine: a flaky upstream,
// the sidecar proxy in front of it and a bounded load of clients, with a
// report of what the clients met each second and in each phase of the
// upstream. The command passes the proxy in (Config.NewProxy): this
// package cannot import the sidecar, which imports it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/chaos"
)

// Proxy is the proxy the demo loads: a *sidecar.Server.
type Proxy interface {
	// Serve serves the proxy on pl and its admin API on al until ctx is
	// done.
	Serve(ctx context.Context, pl, al net.Listener) error
	// Breaker returns the named route's circuit breaker.
	Breaker(route string) (*breaker.Breaker, error)
}

// Config configures Run. NewProxy is required; the zero value of every
// other field is valid.
type Config struct {
	// NewProxy builds the proxy from the demo's config file (YAML), its
	// upstream calls going through transport, its logs to logger (nil:
	// discarded) and its breakers' state changes to onBreakerChange.
	NewProxy func(config []byte, transport http.RoundTripper, logger *slog.Logger, onBreakerChange func(route string, c breaker.Change)) (Proxy, error)

	// Duration is how long the load runs. Default 30s; at least 1s.
	Duration time.Duration
	// Listen, AdminListen and UpstreamListen are the addresses of the
	// proxy, its admin API and the flaky upstream. Default "127.0.0.1:0":
	// a free port, printed at start.
	Listen, AdminListen, UpstreamListen string
	// Seed seeds the upstream's fault injection. Default 1.
	Seed int64
	// Out receives the demo's report. Nil: discarded.
	Out io.Writer
	// Logger receives the proxy's logs. Nil: discarded.
	Logger *slog.Logger

	// ListenFunc and Dial replace the network, for tests that run the demo
	// in memory (and in virtual time, inside a testing/synctest bubble).
	// Nil: net.Listen and a net.Dialer.
	ListenFunc func(network, address string) (net.Listener, error)
	Dial       func(ctx context.Context, network, address string) (net.Conn, error)
}

// Summary is what the demo's clients met, in all.
type Summary struct {
	Duration     time.Duration // how long the load ran: less than asked when interrupted
	Interrupted  bool          // the demo's context ended before the duration
	DashboardURL string
	ProxyURL     string
	Requests     uint64
	OK           uint64 // 2xx from the upstream
	Retried      uint64 // answers that took more than one attempt (any outcome)
	BreakerOpen  uint64 // 503, breaker open
	RateLimited  uint64 // 429
	Shed         uint64 // 503, bulkhead full
	TimedOut     uint64 // 504
	Failed       uint64 // upstream 5xx passed on, 502, transport errors
	Opened       int    // times the breaker opened
	Closed       int    // times it closed again
	Changes      []Change
	Phases       []Phase // what the clients met in each phase of the upstream
}

// Phase is what the clients met while the upstream was in one phase,
// counted by the time each request was sent.
type Phase struct {
	Name                                                 string
	From, To                                             time.Duration // from the start of the load
	OK, BreakerOpen, RateLimited, Shed, TimedOut, Failed uint64
	BreakerOpenFor                                       time.Duration // time the breaker spent open (or half-open) in the phase
}

// Change is a breaker state change, timed from the start of the load.
type Change struct {
	At       time.Duration
	From, To string
	Cause    string
}

// demo phases, as shares of the duration: what the upstream does. Each
// teaches one thing: failing opens the breaker, which then spares the
// upstream; recovering lets it close again; slow (every call slower, some
// past the attempt timeout, too few failures to open the breaker) shows
// timeouts and the bulkhead shedding, with the breaker closed.
type demoPhase struct {
	name             string
	until            float64 // end, as a share of the duration
	errRate, latRate float64
	delay            time.Duration // added to every call
}

const demoNumPhases = 5

var demoPhases = [demoNumPhases]demoPhase{
	{"healthy", 0.2, 0.01, 0, 0},
	{"failing", 0.45, 0.85, 0, 0},
	{"recover", 0.6, 0.01, 0, 0},
	{"slow", 0.8, 0.01, 0.15, demoDelay},
	{"healthy", 1, 0.01, 0, 0},
}

// demoBounds returns the end of each phase from the start of the load,
// in whole seconds (the report's rows are seconds), the last at d.
func demoBounds(d time.Duration) []time.Duration {
	out := make([]time.Duration, len(demoPhases))
	for i, p := range demoPhases {
		out[i] = (time.Duration(p.until * float64(d))).Round(time.Second)
	}
	out[len(out)-1] = d
	return out
}

// demoPhaseAt returns the phase the upstream is in at elapsed.
func demoPhaseAt(bounds []time.Duration, elapsed time.Duration) int {
	for i, b := range bounds {
		if elapsed < b {
			return i
		}
	}
	return len(bounds) - 1
}

const (
	demoClients        = 6                      // well-behaved clients
	demoInterval       = 100 * time.Millisecond // each sends a request this often
	demoGreedy         = 20 * time.Millisecond  // the greedy client sends this often
	demoAttemptTimeout = 250 * time.Millisecond // the proxy's per-attempt timeout
	demoSlow           = 400 * time.Millisecond // the latency of the slowest calls when slow
	demoDelay          = 60 * time.Millisecond  // every call's latency when slow
	demoMaxInFlight    = 256
	demoMaxRequests    = 200_000
)

const demoConfig = `# The demo's proxy config.
listen: %[1]s
admin:
  listen: %[2]s
shutdown_timeout: 2s
routes:
  - name: api
    prefix: /api/
    upstream: http://%[3]s
    timeout: %[4]s            # per attempt
    request_timeout: 5s       # the whole request
    critical: true
    rate_limit:               # per client, keyed by X-Client-ID
      rate: 20
      burst: 10
      per_client: true
      client_header: X-Client-ID
    bulkhead:
      max_concurrent: 6
    retry:
      max_attempts: 2
      initial_backoff: 20ms
      max_backoff: 100ms
      budget:
        ratio: 0.5
        min_per_second: 5
    breaker:
      window: count
      window_size: 40
      minimum_calls: 20
      failure_rate: 0.5
      wait: %[5]s
      half_open_calls: 3
`

// Run runs the demo: a flaky upstream (healthy, then failing, then
// slow, then healthy again), the proxy in front of it and clients that load
// it for dc.Duration, printing each second what the clients met and the
// breaker's state. It returns the summary after shutting everything down.
func Run(ctx context.Context, dc Config) (*Summary, error) {
	if dc.Duration == 0 {
		dc.Duration = 30 * time.Second
	}
	if dc.Duration < time.Second {
		return nil, fmt.Errorf("demo: duration must be at least 1s, got %v", dc.Duration)
	}
	if dc.NewProxy == nil {
		return nil, errors.New("demo: no proxy (Config.NewProxy is nil)")
	}
	if dc.Seed == 0 {
		dc.Seed = 1
	}
	for _, a := range []*string{&dc.Listen, &dc.AdminListen, &dc.UpstreamListen} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}
	out := dc.Out
	if out == nil {
		out = io.Discard
	}
	listen := dc.ListenFunc
	if listen == nil {
		listen = net.Listen
	}
	dial := dc.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	wait := min(max(dc.Duration/15, 100*time.Millisecond), 3*time.Second)

	// The flaky upstream.
	inj, err := chaos.New(chaos.Config{
		Name:    "upstream",
		Faults:  []chaos.Fault{chaos.Latency(0, demoSlow), chaos.Error(0, nil)},
		Seed:    dc.Seed,
		Enabled: true,
	})
	if err != nil {
		return nil, err
	}
	ul, err := listen("tcp", dc.UpstreamListen)
	if err != nil {
		return nil, fmt.Errorf("demo: upstream: %w", err)
	}
	phase := &atomic.Int32{}
	upstream := &http.Server{Handler: demoUpstream(inj, phase), ReadHeaderTimeout: 5 * time.Second, ErrorLog: discardLog()}
	upDone := make(chan struct{})
	go func() { defer close(upDone); upstream.Serve(ul) }()
	defer func() {
		upstream.Close()
		<-upDone
	}()

	// The proxy.
	pl, err := listen("tcp", dc.Listen)
	if err != nil {
		return nil, fmt.Errorf("demo: proxy: %w", err)
	}
	al, err := listen("tcp", dc.AdminListen)
	if err != nil {
		pl.Close()
		return nil, fmt.Errorf("demo: admin: %w", err)
	}
	base := &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	defer base.CloseIdleConnections()
	var start time.Time
	var chMu sync.Mutex
	var changes []Change
	srv, err := dc.NewProxy(fmt.Appendf(nil, demoConfig, pl.Addr(), al.Addr(), ul.Addr(), demoAttemptTimeout, wait), base, dc.Logger,
		func(route string, c breaker.Change) {
			chMu.Lock()
			defer chMu.Unlock()
			changes = append(changes, Change{At: c.At.Sub(start), From: c.From.String(), To: c.To.String(), Cause: c.Cause.String()})
		})
	if err != nil {
		pl.Close()
		al.Close()
		return nil, fmt.Errorf("demo: proxy: %w", err)
	}
	br, err := srv.Breaker("api")
	if err != nil {
		pl.Close()
		al.Close()
		return nil, fmt.Errorf("demo: proxy: %w", err)
	}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(serveCtx, pl, al) }()
	defer func() {
		stopServe()
		<-serveDone
	}()

	sum := &Summary{
		Duration:     dc.Duration,
		DashboardURL: "http://" + al.Addr().String() + "/",
		ProxyURL:     "http://" + pl.Addr().String() + "/api/",
	}
	fmt.Fprintf(out, "bulwark demo: %v of load through the sidecar proxy.\n", dc.Duration)
	fmt.Fprintf(out, "  dashboard  %s   <- open it now\n", sum.DashboardURL)
	fmt.Fprintf(out, "  proxy      %s -> upstream http://%s\n", sum.ProxyURL, ul.Addr())
	fmt.Fprintf(out, "  upstream   healthy, failing (85%% errors), recovering, slow (every call %v, 15%% %v, timeout %v), healthy\n",
		demoDelay, demoDelay+demoSlow, demoAttemptTimeout)
	fmt.Fprintf(out, "  clients    %d at %d req/s each, and one greedy at %d req/s (per-client limit 20/s)\n\n",
		demoClients, int(time.Second/demoInterval), int(time.Second/demoGreedy))
	fmt.Fprintf(out, "%6s  %-8s %5s %7s  %-22s %7s %6s  | %s\n", "", "", "", "", "rejected by the proxy", "", "", "")
	fmt.Fprintf(out, "%6s  %-8s %5s %7s  %6s %7s %7s %7s %6s  | %s\n",
		"second", "upstream", "ok", "retried", "open", "limited", "shed", "timeout", "failed", "breaker at the end")

	// The clients.
	client := &http.Client{
		Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second},
		Timeout:   5 * time.Second,
	}
	defer client.CloseIdleConnections()
	var tally demoTally
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	start = time.Now()
	deadline := start.Add(dc.Duration)

	bounds := demoBounds(dc.Duration)
	var bg sync.WaitGroup
	bg.Go(func() { demoSchedule(loadCtx, inj, phase, start, bounds) })
	var inFlight sync.WaitGroup
	sem := make(chan struct{}, demoMaxInFlight)
	var sent atomic.Int64
	for i := range demoClients + 1 {
		interval, id := demoInterval, "client-"+strconv.Itoa(i+1)
		if i == demoClients {
			interval, id = demoGreedy, "greedy"
		}
		bg.Go(func() {
			// Spread the clients' first requests over one interval.
			first := time.NewTimer(interval * time.Duration(i) / time.Duration(demoClients+1))
			defer first.Stop()
			select {
			case <-loadCtx.Done():
				return
			case <-first.C:
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				if time.Now().After(deadline) || sent.Add(1) > demoMaxRequests {
					return
				}
				select {
				case sem <- struct{}{}:
					inFlight.Go(func() {
						defer func() { <-sem }()
						p := int(phase.Load())
						tally.record(p, demoRequest(loadCtx, client, sum.ProxyURL, id))
					})
				default:
					tally.record(int(phase.Load()), demoFailedResult) // the clients' own cap: count as failed
				}
				select {
				case <-loadCtx.Done():
					return
				case <-t.C:
				}
			}
		})
	}

	// Report each second.
	tick := time.NewTicker(time.Second)
	var prev demoCounts
	rows := 0
	report := func(now time.Time) {
		rows++
		cur := tally.total()
		d := cur.sub(prev)
		prev = cur
		// The row is the second that just ended: labelled by the phase at
		// its middle (phases change on whole seconds).
		el := now.Sub(start)
		fmt.Fprintf(out, "%5.0fs  %-8s %5d %7d  %6d %7d %7d %7d %6d  | %s\n",
			el.Seconds(), demoPhases[demoPhaseAt(bounds, el-time.Second/2)].name,
			d[demoOK], d[demoRetried], d[demoBreaker], d[demoLimited], d[demoShed], d[demoTimeout], d[demoFailed],
			br.State())
	}
	timer := time.NewTimer(dc.Duration)
loop:
	for {
		select {
		case now := <-tick.C:
			report(now)
		case now := <-timer.C:
			if rows < int(dc.Duration/time.Second) {
				report(now) // the last second's tick came with the timer
			}
			break loop
		case <-ctx.Done():
			sum.Interrupted = true
			fmt.Fprintln(out, "interrupted")
			break loop
		}
	}
	sum.Duration = time.Since(start)
	tick.Stop()
	timer.Stop()
	stopLoad()
	bg.Wait()
	inFlight.Wait()

	c := tally.total()
	sum.Phases = make([]Phase, len(demoPhases))
	from := time.Duration(0)
	for i, p := range demoPhases {
		pc := tally.counts(i)
		sum.Phases[i] = Phase{Name: p.name, From: from, To: bounds[i],
			OK: pc[demoOK], BreakerOpen: pc[demoBreaker], RateLimited: pc[demoLimited], Shed: pc[demoShed],
			TimedOut: pc[demoTimeout], Failed: pc[demoFailed]}
		from = bounds[i]
	}
	sum.OK, sum.Retried, sum.BreakerOpen, sum.RateLimited = c[demoOK], c[demoRetried], c[demoBreaker], c[demoLimited]
	sum.Shed, sum.TimedOut, sum.Failed = c[demoShed], c[demoTimeout], c[demoFailed]
	sum.Requests = c[demoOK] + c[demoBreaker] + c[demoLimited] + c[demoShed] + c[demoTimeout] + c[demoFailed]
	chMu.Lock()
	sum.Changes = append([]Change(nil), changes...)
	chMu.Unlock()
	sum.openTimes()
	for _, ch := range sum.Changes {
		switch {
		case ch.To == breaker.StateOpen.String() && ch.From != breaker.StateOpen.String():
			sum.Opened++
		case ch.To == breaker.StateClosed.String():
			sum.Closed++
		}
	}
	sum.print(out)
	return sum, nil
}

// demoUpstream answers 200 unless the injector fails the call (503) or
// delays it.
func demoUpstream(inj *chaos.Injector, phase *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if d := demoPhases[phase.Load()].delay; d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-req.Context().Done():
				t.Stop()
				return
			}
		}
		_, err := inj.Execute(req.Context(), noop{})
		switch {
		case errors.Is(err, chaos.ErrInjected):
			http.Error(w, "upstream failure (injected)", http.StatusServiceUnavailable)
		case err != nil:
			return // the proxy gave up on us
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"ok"}`+"\n")
		}
	})
}

type noop struct{}

func (noop) Call(context.Context) (any, error) { return nil, nil }

// demoSchedule moves the upstream through the phases.
func demoSchedule(ctx context.Context, inj *chaos.Injector, phase *atomic.Int32, start time.Time, bounds []time.Duration) {
	for i, p := range demoPhases {
		inj.SetRate(chaos.KindError, p.errRate)
		inj.SetRate(chaos.KindLatency, p.latRate)
		phase.Store(int32(i))
		if i == len(demoPhases)-1 {
			return
		}
		t := time.NewTimer(time.Until(start.Add(bounds[i])))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

const (
	demoOK = iota
	demoRetried
	demoBreaker
	demoLimited
	demoShed
	demoTimeout
	demoFailed
	demoKinds
)

// The proxy's answers as its clients read them: the sidecar's
// X-Bulwark-Reason on the answers it makes itself, X-Bulwark-Attempts on
// those that took more than one attempt. The demo's tests fail if these
// drift from the sidecar's (no breaker, limit, shed or timeout is seen).
const (
	headerReason      = "X-Bulwark-Reason"
	headerAttempts    = "X-Bulwark-Attempts"
	reasonBreakerOpen = "breaker_open"
	reasonRateLimited = "rate_limited"
	reasonShed        = "shed"
	reasonTimeout     = "timeout"
)

// demoResult is what one request met: a kind, and whether it was retried.
type demoResult struct {
	kind    int
	retried bool
}

var demoFailedResult = demoResult{kind: demoFailed}

type demoCounts [demoKinds]uint64

func (c demoCounts) sub(p demoCounts) demoCounts {
	for i := range c {
		c[i] -= p[i]
	}
	return c
}

// demoTally counts results by the phase their request was sent in.
type demoTally struct {
	n [demoNumPhases][demoKinds]atomic.Uint64
}

func (t *demoTally) record(phase int, r demoResult) {
	t.n[phase][r.kind].Add(1)
	if r.retried {
		t.n[phase][demoRetried].Add(1)
	}
}

func (t *demoTally) counts(phase int) demoCounts {
	var c demoCounts
	for i := range c {
		c[i] = t.n[phase][i].Load()
	}
	return c
}

func (t *demoTally) total() demoCounts {
	var c demoCounts
	for p := range t.n {
		pc := t.counts(p)
		for i := range c {
			c[i] += pc[i]
		}
	}
	return c
}

func demoRequest(ctx context.Context, client *http.Client, url, id string) demoResult {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"orders", nil)
	if err != nil {
		return demoFailedResult
	}
	req.Header.Set("X-Client-ID", id)
	resp, err := client.Do(req)
	if err != nil {
		return demoFailedResult
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := demoResult{kind: demoFailed, retried: resp.Header.Get(headerAttempts) != ""}
	switch reason := resp.Header.Get(headerReason); {
	case resp.StatusCode < 300:
		r.kind = demoOK
	case reason == reasonBreakerOpen:
		r.kind = demoBreaker
	case reason == reasonRateLimited:
		r.kind = demoLimited
	case reason == reasonShed:
		r.kind = demoShed
	case reason == reasonTimeout:
		r.kind = demoTimeout
	}
	return r
}

func (s *Summary) print(w io.Writer) {
	how := ""
	if s.Interrupted {
		how = " (interrupted)"
	}
	fmt.Fprintf(w, "\nSummary after %v%s: %d requests\n", s.Duration.Round(100*time.Millisecond), how, s.Requests)
	line := func(n uint64, what string) {
		pct := 0.0
		if s.Requests > 0 {
			pct = 100 * float64(n) / float64(s.Requests)
		}
		fmt.Fprintf(w, "  %7d  %5.1f%%  %s\n", n, pct, what)
	}
	line(s.OK, "ok: served by the upstream")
	line(s.BreakerOpen, "rejected at once by the open breaker (503 + Retry-After), sparing the failing upstream")
	line(s.RateLimited, "rate limited (429), nearly all the greedy client's")
	line(s.Shed, "shed by the bulkhead (503): too many requests in flight")
	line(s.TimedOut, "timed out (504): the last attempt ran past the per-attempt timeout")
	line(s.Failed, "failed: the upstream's 5xx passed on after retries, or no answer")
	fmt.Fprintf(w, "  %7d          answers took a retry (any outcome)\n", s.Retried)
	fmt.Fprintf(w, "By phase of the upstream (requests counted by when they were sent):\n")
	fmt.Fprintf(w, "  %-8s %-11s %6s %6s %7s %6s %7s %6s  %s\n", "phase", "time", "ok", "open", "limited", "shed", "timeout", "failed", "breaker not closed")
	for _, p := range s.Phases {
		if p.To <= p.From {
			continue
		}
		fmt.Fprintf(w, "  %-8s %4.0fs-%4.0fs %6d %6d %7d %6d %7d %6d  %.1fs of %.0fs\n", p.Name, p.From.Seconds(), p.To.Seconds(),
			p.OK, p.BreakerOpen, p.RateLimited, p.Shed, p.TimedOut, p.Failed, p.BreakerOpenFor.Seconds(), (p.To - p.From).Seconds())
	}
	fmt.Fprintf(w, "Breaker: opened %d times, closed %d times\n", s.Opened, s.Closed)
	for _, c := range s.Changes {
		fmt.Fprintf(w, "  %6.2fs  %-9s -> %-9s  %s\n", c.At.Seconds(), c.From, c.To, c.Cause)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// openTimes sets each phase's BreakerOpenFor from the state changes.
func (s *Summary) openTimes() {
	type span struct{ from, to time.Duration }
	var spans []span
	var openedAt time.Duration = -1
	for _, c := range s.Changes {
		notClosed := c.To != breaker.StateClosed.String()
		switch {
		case notClosed && openedAt < 0:
			openedAt = c.At
		case !notClosed && openedAt >= 0:
			spans = append(spans, span{openedAt, c.At})
			openedAt = -1
		}
	}
	if openedAt >= 0 {
		spans = append(spans, span{openedAt, s.Duration})
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		for _, sp := range spans {
			if lo, hi := max(sp.from, p.From), min(sp.to, p.To); hi > lo {
				p.BreakerOpenFor += hi - lo
			}
		}
	}
}
