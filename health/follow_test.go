package health

import (
	"net/http"
	"testing"

	"github.com/bulwark-go/bulwark/breaker"
)

// Critical() watches as WatchCritical; Unwatch lets a breaker made again
// under the same name take the old one's place.
func TestCriticalAndUnwatch(t *testing.T) {
	h := New()
	old := must(breaker.New(breaker.Config{Name: "db"}))
	remade := must(breaker.New(breaker.Config{Name: "db"}))
	w := h.Critical()
	if err := w.Watch(old); err != nil {
		t.Fatal(err)
	}
	old.ForceOpen()
	if code, _, _ := serve(t, h.Ready(), http.MethodGet); code != http.StatusServiceUnavailable {
		t.Errorf("critical breaker open: /readyz %d, want 503", code)
	}
	if err := w.Watch(remade); err == nil {
		t.Error("a second breaker named db was watched beside the first")
	}
	w.Unwatch(old)
	if code, _, _ := serve(t, h.Ready(), http.MethodGet); code != http.StatusOK {
		t.Errorf("open breaker unwatched: /readyz %d, want 200", code)
	}
	if err := w.Watch(remade); err != nil {
		t.Fatalf("Watch after Unwatch: %v", err)
	}
	remade.ForceOpen()
	if code, _, _ := serve(t, h.Ready(), http.MethodGet); code != http.StatusServiceUnavailable {
		t.Errorf("re-made breaker open: /readyz %d, want 503", code)
	}
}
