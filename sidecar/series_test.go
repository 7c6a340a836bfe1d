package sidecar

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<21; us++ {
		b := latencyBucket(us)
		if b < prev || b > prev+1 {
			t.Fatalf("%d µs: bucket %d after %d", us, b, prev)
		}
		prev = b
		if v := float64(us) / 1e6; v >= latencyUpper(b)+1e-12 || (b > 0 && v < latencyUpper(b-1)-1e-12) {
			t.Fatalf("%d µs outside bucket %d (%v, %v]", us, b, latencyUpper(b-1), latencyUpper(b))
		}
	}
	var h latencyHist
	for i := 1; i <= 1000; i++ {
		h.observe(time.Duration(i) * time.Millisecond)
	}
	c := h.load()
	for _, tt := range []struct{ q, want float64 }{{0.5, 0.5}, {0.99, 0.99}} {
		if got := c.quantile(tt.q); math.Abs(got-tt.want)/tt.want > 0.19 {
			t.Errorf("q%v = %v, want %v within 19%%", tt.q, got, tt.want)
		}
	}
	empty := latencyCounts{}
	if !math.IsNaN(empty.quantile(0.5)) {
		t.Error("the quantile of nothing is not NaN")
	}
}

// TestHistoryAndEvents: the server keeps a point a second (answers per
// second by outcome, breaker state, latency), serves them on
// /admin/history, and streams updates on /admin/events.
func TestHistoryAndEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t, "routes:\n  - {name: api, prefix: /, upstream: '%s', breaker: {wait: 1m}}\n",
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(20 * time.Millisecond)
				w.Write([]byte("ok"))
			}))
		for range 3 {
			for range 10 {
				b.get(t, "/x")
			}
			time.Sleep(800 * time.Millisecond)
		}
		synctest.Wait()
		pts := b.s.history()
		if len(pts) < 2 {
			t.Fatalf("%d points after 3 s", len(pts))
		}
		last := pts[len(pts)-1].Routes[0]
		if last.Name != "api" || last.State != "closed" || last.PerSecond["ok"] <= 0 {
			t.Errorf("last point %+v", last)
		}
		// 20 ms, read from buckets a fifth of a doubling wide.
		if ms := last.P50Ms; ms == nil || *ms < 16 || *ms > 25 {
			t.Errorf("p50 %v, want about 20 ms", deref(ms))
		}
		if ms := last.UpstreamP50Ms; ms == nil || *ms < 16 || *ms > 25 {
			t.Errorf("upstream p50 %v, want about 20 ms", deref(ms))
		}
		var h struct {
			Points []historyPoint `json:"points"`
		}
		if rec := admin(t, b.s, "GET", "/admin/history?n=1", &h); rec.Code != 200 || len(h.Points) != 1 {
			t.Errorf("history?n=1: %d, %d points", rec.Code, len(h.Points))
		}
		if rec := admin(t, b.s, "GET", "/admin/history?n=0", nil); rec.Code != 400 {
			t.Errorf("history?n=0: %d", rec.Code)
		}
	})
}

func TestEventStream(t *testing.T) {
	f := newFixture(t, adminYAML, upstream(t, echo("A")))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.admin.URL+"/admin/events", nil)
	resp, err := f.admin.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	updates := 0
	for updates < 2 && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var u update
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			t.Fatal(err)
		}
		if len(u.Snapshot.Routes) != 2 || len(u.Point.Routes) != 2 {
			t.Errorf("update: %d routes, point %d routes", len(u.Snapshot.Routes), len(u.Point.Routes))
		}
		updates++
	}
	if updates != 2 {
		t.Errorf("%d updates: %v", updates, sc.Err())
	}
	// The number of streams is bounded.
	f.s.streams.Store(maxEventStreams)
	if rec := admin(t, f.s, "GET", "/admin/events", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("stream %d: %d", maxEventStreams+1, rec.Code)
	}
	f.s.streams.Store(0)
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
