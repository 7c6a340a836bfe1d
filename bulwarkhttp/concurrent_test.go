package bulwarkhttp

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/hedge"
)

// TestConcurrentUse sends many requests at once through one transport to a
// server that fails the first attempt of every other request, with every
// policy on, under -race.
func TestConcurrentUse(t *testing.T) {
	var seen sync.Map
	srv := newScriptedHandler(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if _, again := seen.LoadOrStore(string(b), true); !again && len(b)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write(b)
	})
	client, tr := newClient(t, TransportConfig{
		Retry:          fastRetry(5),
		Breaker:        &breaker.Config{FailureRateThreshold: 1, MinimumCalls: 100, WindowSize: 100},
		Hedge:          &hedge.Config{Delay: time.Second, Budget: 1},
		AttemptTimeout: 10 * time.Second,
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 4 {
				body := strings.Repeat("x", i*5+j+1)
				req, _ := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader(body))
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(got) != body {
					t.Errorf("got %d %q, want 200 and the body sent back", resp.StatusCode, got)
				}
			}
		})
	}
	wg.Wait()
	if s := tr.Snapshot(); s.Retry.Retries == 0 {
		t.Errorf("no retries: %+v", s.Retry)
	}
}
