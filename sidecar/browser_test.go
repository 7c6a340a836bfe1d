package sidecar

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var dashboardShot = flag.String("dashboard-screenshot", "", "also write the browser test's screenshot of the dashboard to this file (docs/dashboard.png for the README)")

// chromium returns the path of Debian's chromium, or skips the test where
// it is missing and CI is not set; under CI a missing browser fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed, and CI is set: the dashboard's browser test must run (.ci/run installs it: apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: the dashboard's browser test is skipped (apt-get install -y chromium to run it; under CI=true it fails instead)")
	return ""
}

const browserYAML = `
shutdown_timeout: 1s
routes:
  - name: api
    prefix: /api/
    upstream: %[1]s
    timeout: 1s
    breaker: {failure_rate: 0.5, wait: 1m}
    retry: {budget: {}}
    bulkhead: {max_concurrent: 8}
    rate_limit: {rate: 1000}
  - name: orders
    prefix: /orders/
    upstream: %[1]s
    breaker: {window: consecutive, window_size: 5}
  - name: static
    prefix: /static/
    upstream: %[1]s
`

// TestDashboardInBrowser loads the dashboard in a real browser (headless
// chromium) while the sidecar serves traffic: every route is shown, a
// breaker forced open through the API is shown open within 2 s, the "Force
// closed" button closes it, the charts are big enough to read, and the page
// logs no console error. It writes a screenshot.
func TestDashboardInBrowser(t *testing.T) {
	bin := chromium(t)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		fmt.Fprintln(w, "ok")
	})
	cfg, err := ParseConfig(fmt.Appendf(nil, browserYAML, up.URL))
	if err != nil {
		t.Fatal(err)
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	s, err := New(cfg, Options{Transport: base, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- s.Serve(serveCtx, pl, al) }()
	defer func() {
		stopServe()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	adminURL := "http://" + al.Addr().String()
	proxyURL := "http://" + pl.Addr().String()

	// Traffic on every route while the page is open: 30 requests a second.
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var load sync.WaitGroup
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer func() { stopLoad(); load.Wait() }()
	load.Go(func() {
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 3000; i++ {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			path := []string{"/api/x", "/orders/1", "/static/a.css"}[i%3]
			req, _ := http.NewRequestWithContext(loadCtx, "GET", proxyURL+path, nil)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	})
	time.Sleep(1500 * time.Millisecond) // a few history points before the page opens

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var mu sync.Mutex
	var consoleErrors []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				consoleErrors = append(consoleErrors, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			consoleErrors = append(consoleErrors, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				consoleErrors = append(consoleErrors, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}

	card := func(route string) string { return `section[data-route="` + route + `"]` }
	if err := chromedp.Do(bctx,
		chromedp.Navigate(adminURL+"/"),
		chromedp.WaitVisible(chromedp.CSS(card("api"))),
		chromedp.WaitVisible(chromedp.CSS(card("orders"))),
		chromedp.WaitVisible(chromedp.CSS(card("static"))),
	); err != nil {
		t.Fatalf("the dashboard does not show every route: %v", err)
	}

	// Forced open through the API: shown open within 2 s.
	resp, err := client.Post(adminURL+"/admin/breakers/api/open", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("force open: %v %v", resp, err)
	}
	resp.Body.Close()
	forced := time.Now()
	wctx, wcancel := context.WithTimeout(bctx, 2*time.Second)
	err = chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(card("api")+`[data-state="forced-open"]`)))
	wcancel()
	if err != nil {
		t.Fatalf("the breaker forced open is not shown open within 2s: %v", err)
	}
	t.Logf("forced-open shown after %v", time.Since(forced).Round(time.Millisecond))
	badge, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(card("api")+" .badge")))
	if err != nil || badge != "forced-open" {
		t.Errorf("badge %q, %v", badge, err)
	}

	// The page's own button closes it.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(card("api")+` button[data-action="close"]`)),
		chromedp.WaitVisible(chromedp.CSS(card("api")+`[data-state="forced-closed"]`)),
	); err != nil {
		t.Fatalf("Force closed: %v", err)
	}
	if br, _ := s.Breaker("api"); br.State().String() != "forced-closed" {
		t.Errorf("after the click the breaker is %s", br.State())
	}

	// Charts big enough to read, with a time axis and latency figures.
	time.Sleep(2500 * time.Millisecond) // the latency window fills
	heights, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`[...document.querySelectorAll("svg.chart")].map((e) => e.getBoundingClientRect().height)`))
	if err != nil || len(heights) != 6 {
		t.Fatalf("charts: %v %v", heights, err)
	}
	for _, h := range heights {
		if h < 150 {
			t.Errorf("a chart is %v px high, want at least 150", h)
		}
	}
	axis, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(card("api")+" svg.rate")))
	if err != nil || !strings.Contains(axis, "−5 min") || !strings.Contains(axis, "now") || !strings.Contains(axis, "req/s") {
		t.Errorf("the rate chart's text %q lacks a time axis or its unit: %v", axis, err)
	}
	figs, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(card("api")+" .figs")))
	if err != nil || !strings.Contains(figs, "p99 ms (upstream ") || strings.Contains(figs, "p50 ms (upstream –)") {
		t.Errorf("latency figures %q: %v", figs, err)
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if *dashboardShot != "" {
		if err := os.WriteFile(*dashboardShot, png, 0o644); err != nil {
			t.Error(err)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(consoleErrors, "\n"))
	}
}
