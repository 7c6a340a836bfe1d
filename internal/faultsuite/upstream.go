package faultsuite

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// HeaderID is the request header carrying each client request's id, so the
// upstream can count how many times one client request reached it.
const HeaderID = "X-Scenario-Id"

// Kind is what the upstream does in a phase.
type Kind int

// The upstream's behaviours.
const (
	// Healthy answers 200 after Fault.Latency.
	Healthy Kind = iota
	// Failing answers 503 to a share Fault.FailRate of requests (all when
	// 1), after Fault.Latency; the others get 200.
	Failing
	// Hanging accepts, reads the request and never answers (until the
	// client goes away).
	Hanging
	// Resetting resets (TCP RST, no answer) every connection on which it
	// reads a request: a process dying under its keep-alive connections.
	Resetting
	// Dead has no listener: connections are refused.
	Dead
	// Pushback answers Fault.Status (429 or 503) with a Retry-After of one
	// second, in seconds or as an HTTP date (Fault.RetryAfterDate).
	Pushback
)

var kindNames = [...]string{"healthy", "failing", "hanging", "resetting", "dead", "pushback"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is the upstream's behaviour during a phase.
type Fault struct {
	Kind Kind
	// Latency is the service time of an answer (Healthy, Failing). It is
	// served within Capacity: with Capacity slots busy, requests queue.
	Latency time.Duration
	// FailRate is Failing's share of 503s, in (0, 1].
	FailRate float64
	// Status is Pushback's status: 429 or 503.
	Status int
	// RetryAfterDate sends Pushback's Retry-After as an HTTP date instead
	// of seconds.
	RetryAfterDate bool
}

// upstream is a loopback HTTP upstream whose behaviour the runner scripts
// phase by phase. It counts every request it reads, by client request id
// and by phase, and can die (close its listener and reset its connections)
// and come back on the same address.
type upstream struct {
	addr  string
	slots chan struct{} // nil: unlimited capacity

	fault atomic.Pointer[Fault]
	phase atomic.Int32
	stop  chan struct{} // closed by close: hanging handlers return

	mu      sync.Mutex
	srv     *http.Server
	conns   map[net.Conn]struct{}
	byID    map[string]int // requests read, per client request id
	byPhase []int          // requests read, per phase
	served  sync.WaitGroup // Serve goroutines
	hits    []atomic.Int64 // requests read per time bucket (see record)
	start   time.Time
	bucket  time.Duration
}

func newUpstream(capacity, phases int, bucket time.Duration, buckets int) (*upstream, error) {
	u := &upstream{
		stop:    make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
		byID:    map[string]int{},
		byPhase: make([]int, phases),
		hits:    make([]atomic.Int64, buckets),
		bucket:  bucket,
	}
	if capacity > 0 {
		u.slots = make(chan struct{}, capacity)
	}
	u.fault.Store(&Fault{Kind: Healthy})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u.addr = ln.Addr().String()
	u.serve(ln)
	return u, nil
}

func (u *upstream) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:           u,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, s http.ConnState) {
			u.mu.Lock()
			defer u.mu.Unlock()
			switch s {
			case http.StateNew:
				u.conns[c] = struct{}{}
			case http.StateClosed, http.StateHijacked:
				delete(u.conns, c)
			}
		},
	}
	u.mu.Lock()
	u.srv = srv
	u.mu.Unlock()
	u.served.Add(1)
	go func() {
		defer u.served.Done()
		_ = srv.Serve(ln)
	}()
}

// set switches the upstream to phase i with fault f: a Dead phase closes
// the listener and resets every connection; leaving it listens again on
// the same address.
func (u *upstream) set(i int, f Fault) error {
	old := u.fault.Swap(&f)
	u.phase.Store(int32(i))
	switch {
	case f.Kind == Dead && old.Kind != Dead:
		u.kill()
	case f.Kind != Dead && old.Kind == Dead:
		var ln net.Listener
		var err error
		for range 50 { // the address may take a moment to be free again
			if ln, err = net.Listen("tcp", u.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		u.serve(ln)
	}
	return nil
}

// kill closes the listener and resets every open connection.
func (u *upstream) kill() {
	u.mu.Lock()
	srv := u.srv
	for c := range u.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	u.mu.Unlock()
	_ = srv.Close()
}

func (u *upstream) close() {
	close(u.stop)
	u.kill()
	u.served.Wait()
}

func (u *upstream) record(r *http.Request) {
	id := r.Header.Get(HeaderID)
	u.mu.Lock()
	if id != "" {
		u.byID[id]++
	}
	if p := int(u.phase.Load()); p < len(u.byPhase) {
		u.byPhase[p]++
	}
	u.mu.Unlock()
	u.hit()
}

// hit counts a request reaching the upstream in the time bucket of now.
func (u *upstream) hit() {
	u.mu.Lock()
	start := u.start
	u.mu.Unlock()
	if !start.IsZero() {
		if b := int(time.Since(start) / u.bucket); b >= 0 && b < len(u.hits) {
			u.hits[b].Add(1)
		}
	}
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.record(r)
	f := u.fault.Load()
	switch f.Kind {
	case Resetting, Dead: // Dead: a request read just before the listener closed
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		return
	case Hanging:
		select {
		case <-r.Context().Done():
		case <-u.stop:
		}
		return
	case Pushback:
		if f.RetryAfterDate {
			// An HTTP date has whole seconds: two seconds from now is at
			// least one second away.
			w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(f.Status)
		return
	}
	if u.slots != nil {
		select {
		case u.slots <- struct{}{}:
			defer func() { <-u.slots }()
		case <-r.Context().Done():
			return
		case <-u.stop:
			return
		}
	}
	if !wait(r.Context(), u.stop, f.Latency) {
		return
	}
	if f.Kind == Failing && rand.Float64() < f.FailRate {
		http.Error(w, "failing", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok"))
}

func wait(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-stop:
	}
	return false
}

// counts returns the requests read per client request id.
func (u *upstream) counts() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := make(map[string]int, len(u.byID))
	for k, v := range u.byID {
		m[k] = v
	}
	return m
}

func (u *upstream) perPhase() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]int(nil), u.byPhase...)
}

func (u *upstream) begin(t time.Time) {
	u.mu.Lock()
	u.start = t
	u.mu.Unlock()
}

// refusals counts the connections refused by a dead upstream, as seen by a
// client's dialer: attempts that reached the dependency's host while its
// process was gone.
type refusals struct {
	n  atomic.Int64
	up *upstream // its hits count the refusals too
}

func (r *refusals) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil && isRefused(err) {
		r.n.Add(1)
		r.up.hit()
	}
	return c, err
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
