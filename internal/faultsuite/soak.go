package faultsuite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// SoakConfig configures Soak.
type SoakConfig struct {
	// Binary is the bulwark command to run (go build ./cmd/bulwark).
	Binary string
	// Duration is how long the load runs. Required.
	Duration time.Duration
	// Every is the sampling interval. Default 10 s.
	Every time.Duration
	// Phase is how long each fault of the cycle lasts. Default 15 s.
	Phase time.Duration
	// Rate is the offered load, in requests per second. Default 100.
	Rate float64
	// Log, if set, receives one line per sample.
	Log io.Writer
}

// SoakSample is the proxy process's state at one moment, read from its
// own /metrics (go_goroutines, go_memstats_heap_alloc_bytes,
// process_open_fds).
type SoakSample struct {
	At         time.Duration
	Goroutines float64
	Heap       float64 // bytes
	FDs        float64
}

// SoakResult is what a soak run measured.
type SoakResult struct {
	Samples []SoakSample
	// Sent and Answered count the client requests; every one must get an
	// answer or an error.
	Sent, Answered int64
	ByStatus       map[int]int64
}

// soakCycle is the faults the upstream cycles through.
var soakCycle = []Fault{
	healthy,
	down,
	{Kind: Hanging},
	healthy,
	{Kind: Resetting},
	{Kind: Dead},
	{Kind: Pushback, Status: 429},
	{Kind: Healthy, Latency: 2 * time.Second},
	{Kind: Failing, Latency: baseLatency, FailRate: 0.3},
}

// Soak runs the bulwark proxy as a process of its own in front of an
// upstream that cycles through faults (failing, hanging, resetting, dead,
// 429, slow, 30 % failures, healthy between), drives bounded open-loop load
// through it, and samples the proxy's goroutines, heap and open file
// descriptors every cfg.Every.
func Soak(ctx context.Context, cfg SoakConfig) (*SoakResult, error) {
	if cfg.Duration <= 0 || cfg.Binary == "" {
		return nil, errors.New("faultsuite: Soak needs a Binary and a Duration")
	}
	if cfg.Every <= 0 {
		cfg.Every = 10 * time.Second
	}
	if cfg.Phase <= 0 {
		cfg.Phase = 15 * time.Second
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 100
	}
	up, err := newUpstream(0, len(soakCycle), time.Second, 1)
	if err != nil {
		return nil, err
	}
	defer up.close()
	proxyAddr, adminAddr := freeAddr(), freeAddr()
	dir, err := os.MkdirTemp("", "bulwark-soak")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	conf := strings.Replace(proxyConfig(up.addr, 1), "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0",
		"listen: "+proxyAddr+"\nadmin:\n  listen: "+adminAddr, 1)
	conf = strings.Replace(conf, "max_concurrent: 4", "max_concurrent: 32", 1)
	path := filepath.Join(dir, "bulwark.yaml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.Binary, "run", "-config", path, "-log-level", "error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	admin := &http.Client{Timeout: 5 * time.Second}
	if err := waitReady(ctx, admin, "http://"+adminAddr+"/healthz", exited); err != nil {
		return nil, err
	}

	res := &SoakResult{ByStatus: map[int]int64{}}
	var mu sync.Mutex
	var sent, answered atomic.Int64
	// The clients keep at most 16 idle connections, for 5 s: the proxy's
	// connections and their goroutines follow the load, not its peaks.
	front := &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16, IdleConnTimeout: 5 * time.Second}
	defer front.CloseIdleConnections()
	client := &http.Client{Transport: front}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	// Faults.
	wg.Go(func() {
		for i := 1; ; i++ {
			if !sleepUntil(ctx, t0.Add(time.Duration(i)*cfg.Phase)) {
				return
			}
			_ = up.set(i%len(soakCycle), soakCycle[i%len(soakCycle)])
		}
	})
	// Load.
	var inflight sync.WaitGroup
	wg.Go(func() {
		interval := time.Duration(float64(time.Second) / cfg.Rate)
		for i := 0; ; i++ {
			if !sleepUntil(ctx, t0.Add(time.Duration(i)*interval)) {
				return
			}
			sent.Add(1)
			method := http.MethodGet
			if i%10 == 9 {
				method = http.MethodPost
			}
			inflight.Go(func() {
				defer answered.Add(1)
				cctx, ccancel := context.WithTimeout(context.Background(), DefaultDeadline)
				defer ccancel()
				req, _ := http.NewRequestWithContext(cctx, method, "http://"+proxyAddr+"/soak", nil)
				code := 0
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				res.ByStatus[code]++
				mu.Unlock()
			})
		}
	})
	// Samples.
	var sampleErr error
	wg.Go(func() {
		for i := 1; ; i++ {
			if !sleepUntil(ctx, t0.Add(time.Duration(i)*cfg.Every)) {
				return
			}
			s, err := sample(admin, "http://"+adminAddr+"/metrics")
			if err != nil {
				sampleErr = err
				cancel()
				return
			}
			s.At = time.Since(t0)
			res.Samples = append(res.Samples, s)
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "%6.0fs goroutines %5.0f heap %6.1f MiB fds %4.0f sent %d\n",
					s.At.Seconds(), s.Goroutines, s.Heap/(1<<20), s.FDs, sent.Load())
			}
		}
	})
	wg.Wait()
	inflight.Wait() // each call is bounded by its deadline
	res.Sent, res.Answered = sent.Load(), answered.Load()
	if sampleErr != nil {
		return res, sampleErr
	}
	select {
	case err := <-exited:
		exited <- err
		return res, fmt.Errorf("faultsuite: the proxy exited during the soak: %v", err)
	default:
	}
	return res, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:1"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(ctx context.Context, c *http.Client, url string, exited chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("faultsuite: the proxy exited at start: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("faultsuite: the proxy's /healthz did not answer 200 within 30 s")
}

// sample reads the proxy's goroutines, heap and open fds from its
// Prometheus metrics.
func sample(c *http.Client, url string) (SoakSample, error) {
	resp, err := c.Get(url)
	if err != nil {
		return SoakSample{}, err
	}
	defer resp.Body.Close()
	var s SoakSample
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "go_goroutines":
			dst = &s.Goroutines
		case "go_memstats_heap_alloc_bytes":
			dst = &s.Heap
		case "process_open_fds":
			dst = &s.FDs
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return s, fmt.Errorf("faultsuite: %s: %q: %v", name, val, err)
		}
		*dst = v
		found++
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if found != 3 {
		return s, fmt.Errorf("faultsuite: %s lacks go_goroutines, go_memstats_heap_alloc_bytes or process_open_fds", url)
	}
	return s, nil
}

// Slope returns the least-squares slope of ys against xs.
func Slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// Flat checks that goroutines, heap and fds do not trend upwards: over the
// samples after the first warmup, the growth the least-squares line
// projects across the window must stay within max(abs, rel × mean) for
// each (goroutines 50 or 25 %, heap 16 MiB or 50 %, fds 20 or 25 %). A
// leak of one goroutine, fd or kilobyte per hundred requests breaks it; the
// swings of the fault cycle do not. It returns the broken checks.
func (r *SoakResult) Flat(warmup time.Duration) []string {
	var xs []float64
	var g, h, f []float64
	for _, s := range r.Samples {
		if s.At < warmup {
			continue
		}
		xs = append(xs, s.At.Seconds())
		g, h, f = append(g, s.Goroutines), append(h, s.Heap), append(f, s.FDs)
	}
	if len(xs) < 5 {
		return []string{fmt.Sprintf("only %d samples after the warm-up of %v; need at least 5", len(xs), warmup)}
	}
	window := xs[len(xs)-1] - xs[0]
	var v []string
	check := func(name string, ys []float64, abs, rel float64, unit float64, unitName string) {
		mean := 0.0
		for _, y := range ys {
			mean += y
		}
		mean /= float64(len(ys))
		growth := Slope(xs, ys) * window
		if limit := max(abs, rel*mean); growth > limit {
			v = append(v, fmt.Sprintf("%s grows: %.1f%s over %.0f s by the fitted line (mean %.1f%s), limit %.1f%s",
				name, growth/unit, unitName, window, mean/unit, unitName, limit/unit, unitName))
		}
	}
	check("goroutines", g, 50, 0.25, 1, "")
	check("heap", h, 16<<20, 0.5, 1<<20, " MiB")
	check("open fds", f, 20, 0.25, 1, "")
	if r.Answered != r.Sent {
		v = append(v, fmt.Sprintf("%d of %d requests got neither an answer nor an error", r.Sent-r.Answered, r.Sent))
	}
	return v
}
