package faultsuite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/bulkhead"
	"github.com/bulwark-go/bulwark/bulwarkhttp"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/retry"
	"github.com/bulwark-go/bulwark/sidecar"
)

// Mode is how the clients reach the dependency.
type Mode int

// The three ways the suite drives load.
const (
	// Unprotected: a plain http.Client (http.Transport), no policy.
	Unprotected Mode = iota
	// Library: an http.Client over bulwarkhttp.Transport (retries, a
	// breaker, an attempt timeout), inside a bulkhead and a fallback
	// composed with bulwark.Chain.
	Library
	// Proxy: a plain http.Client through the bulwark proxy (package
	// sidecar, run in-process) with the same policies on its route; the
	// client serves its fallback when the proxy rejects a request itself.
	Proxy
	numModes
)

var modeNames = [numModes]string{"no protection", "bulwarkhttp.Transport", "bulwark proxy"}

func (m Mode) String() string {
	if m >= 0 && m < numModes {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// The protection both protected modes apply, the same on the library's
// transport and on the proxy's route. Breaker waits are scaled with the
// phases; the rest are not.
const (
	MaxAttempts    = 3
	AttemptTimeout = 250 * time.Millisecond
	initialBackoff = 25 * time.Millisecond
	maxBackoff     = 250 * time.Millisecond
	breakerWait    = 2 * time.Second
	breakerMaxWait = 8 * time.Second
	windowSize     = 20
	minimumCalls   = 10
	maxConcurrent  = 4
	bulkheadWait   = 10 * time.Millisecond
)

// errRejected is the proxy's own refusal (breaker open, bulkhead full,
// rate limited), which the client answers with its fallback.
var errRejected = errors.New("faultsuite: rejected by the proxy")

// statusError is an answer that is not a success.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("status %d", e.code) }

// fallbackValue is what a client serves when bulwark refused a call
// without reaching the dependency.
const fallbackValue = "fallback"

func isRejection(err error) bool {
	return errors.Is(err, breaker.ErrOpen) || errors.Is(err, bulkhead.ErrFull) ||
		errors.Is(err, ratelimit.ErrLimited) || errors.Is(err, errRejected)
}

// client sends one scenario request and says what the caller got.
type client struct {
	mode    Mode
	http    *http.Client
	url     string
	policy  bulwark.Policy // fallback (and bulkhead, for Library) around the call
	closers []func()
}

func (c *client) close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
}

// do sends one request and returns the body the caller got (possibly the
// fallback value) or its error.
func (c *client) do(ctx context.Context, method, id string) (string, error) {
	send := func(ctx context.Context) (string, error) {
		req, err := http.NewRequestWithContext(ctx, method, c.url, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set(HeaderID, id)
		resp, err := c.http.Do(req)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		if resp.StatusCode/100 != 2 {
			if c.mode == Proxy {
				switch resp.Header.Get(sidecar.HeaderReason) {
				case "breaker_open", "shed", "rate_limited":
					return "", fmt.Errorf("%w: %s", errRejected, resp.Header.Get(sidecar.HeaderReason))
				}
			}
			return "", &statusError{resp.StatusCode}
		}
		return string(body), nil
	}
	if c.policy == nil {
		return send(ctx)
	}
	return bulwark.Get(ctx, c.policy, send)
}

// baseTransport is what reaches the upstream in every mode: a plain
// http.Transport keeping up to 64 idle connections, whose dialer counts
// refused connections.
func baseTransport(ref *refusals) *http.Transport {
	return &http.Transport{
		DialContext:         ref.dial,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
	}
}

func newClient(m Mode, upstreamAddr string, ref *refusals, scale float64) (*client, error) {
	base := baseTransport(ref)
	c := &client{mode: m, url: "http://" + upstreamAddr + "/work"}
	c.closers = append(c.closers, base.CloseIdleConnections)
	fb, err := fallback.New(fallback.Config{Name: "scenario", Func: fallback.Value(fallbackValue), IsHandled: isRejection})
	if err != nil {
		return nil, err
	}
	switch m {
	case Unprotected:
		c.http = &http.Client{Transport: base}
	case Library:
		budget, err := retry.NewBudget(retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 5})
		if err != nil {
			return nil, err
		}
		t, err := bulwarkhttp.NewTransport(bulwarkhttp.TransportConfig{
			Base: base,
			Retry: &retry.Config{
				MaxAttempts: MaxAttempts,
				Backoff:     retry.Exponential{Initial: initialBackoff, Max: maxBackoff},
				Jitter:      retry.JitterFull,
				Budget:      budget,
			},
			AttemptTimeout: AttemptTimeout,
			Breaker:        breakerConfig(scale),
		})
		if err != nil {
			return nil, err
		}
		bh, err := bulkhead.New(bulkhead.Config{Name: "scenario", MaxConcurrent: maxConcurrent, MaxWait: bulkheadWait})
		if err != nil {
			return nil, err
		}
		c.http = &http.Client{Transport: t}
		c.policy = bulwark.Chain(fb, bh)
	case Proxy:
		cfg, err := sidecar.ParseConfig([]byte(proxyConfig(upstreamAddr, scale)))
		if err != nil {
			return nil, fmt.Errorf("proxy config: %w", err)
		}
		// The sidecar's own transport, as bulwark run has it, dialling
		// through the counter of refused connections.
		cfg.FastPath = fastPath
		s, err := sidecar.New(cfg, sidecar.Options{Dial: ref.dial})
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, err
		}
		stop, err := serveProxy(s, ln)
		if err != nil {
			s.Close()
			ln.Close()
			return nil, err
		}
		front := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
		c.closers = append(c.closers, stop, front.CloseIdleConnections)
		c.http = &http.Client{Transport: front}
		c.url = "http://" + ln.Addr().String() + "/work"
		c.policy = fb
	default:
		return nil, fmt.Errorf("faultsuite: unknown mode %d", int(m))
	}
	return c, nil
}

// fastPath, set by BULWARK_TEST_FAST_PATH=1, runs the Proxy mode on the
// sidecar's fast path (fast_path: true, served by Server.Serve as bulwark
// run serves it) instead of its Handler on net/http's server; .ci/run runs
// the scenarios both ways.
var fastPath = os.Getenv("BULWARK_TEST_FAST_PATH") == "1"

// serveProxy serves s's proxy on ln until the returned stop is called: on
// net/http's server, or with fastPath through Server.Serve (which needs an
// admin listener too, and closes s when it returns).
func serveProxy(s *sidecar.Server, ln net.Listener) (stop func(), err error) {
	if !fastPath {
		srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln)
		}()
		return func() {
			_ = srv.Close()
			<-done
			s.Close()
		}, nil
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ctx, ln, al)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

func breakerConfig(scale float64) *breaker.Config {
	return &breaker.Config{
		Window:               breaker.WindowCount,
		WindowSize:           windowSize,
		MinimumCalls:         minimumCalls,
		FailureRateThreshold: 0.5,
		WaitDuration:         scaled(breakerWait, scale),
		WaitMultiplier:       2,
		MaxWaitDuration:      scaled(breakerMaxWait, scale),
		HalfOpenCalls:        3,
	}
}

// proxyConfig is the proxy's config: one route to the upstream with the
// same policies as the Library mode.
func proxyConfig(upstreamAddr string, scale float64) string {
	r := strings.NewReplacer(
		"UPSTREAM", upstreamAddr,
		"ATTEMPTS", fmt.Sprint(MaxAttempts),
		"TIMEOUT", AttemptTimeout.String(),
		"INITIAL", initialBackoff.String(),
		"MAXBACKOFF", maxBackoff.String(),
		"WINDOW", fmt.Sprint(windowSize),
		"MINCALLS", fmt.Sprint(minimumCalls),
		"WAIT", scaled(breakerWait, scale).String(),
		"MAXWAIT", scaled(breakerMaxWait, scale).String(),
		"CONCURRENT", fmt.Sprint(maxConcurrent),
		"BHWAIT", bulkheadWait.String(),
	)
	return r.Replace(`listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:0
routes:
  - name: dependency
    prefix: /
    upstream: http://UPSTREAM
    timeout: TIMEOUT
    retry:
      max_attempts: ATTEMPTS
      backoff: exponential
      initial_backoff: INITIAL
      max_backoff: MAXBACKOFF
      jitter: full
      budget:
        ratio: 0.2
        min_per_second: 5
    breaker:
      window: count
      window_size: WINDOW
      minimum_calls: MINCALLS
      failure_rate: 0.5
      wait: WAIT
      wait_multiplier: 2
      max_wait: MAXWAIT
      half_open_calls: 3
    bulkhead:
      max_concurrent: CONCURRENT
      max_wait: BHWAIT
`)
}
