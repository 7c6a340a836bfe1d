package catalog

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-go/bulwark"
)

func TestBuckets(t *testing.T) {
	errConfig := errors.New("exporter: invalid config")
	def := []float64{1, 2}
	tests := []struct {
		name string
		b    []float64
		want string // error text; "" for none
	}{
		{"nil gives the default", nil, ""},
		{"valid", []float64{0.5, 1, 10}, ""},
		{"empty", []float64{}, "F is empty; leave it nil for the default"},
		{"NaN", []float64{math.NaN()}, "F[0] is NaN; bounds must be finite"},
		{"infinite", []float64{1, math.Inf(1)}, "F[1] is +Inf; bounds must be finite"},
		{"equal", []float64{1, 1}, "F[1] = 1 is not greater than F[0] = 1"},
		{"decreasing", []float64{1, 2, 0.5}, "F[2] = 0.5 is not greater than F[1] = 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Buckets(errConfig, "F", tt.b, def)
			if tt.want != "" {
				if got != nil || !errors.Is(err, errConfig) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Buckets = %v, %v; want an error wrapping errConfig with %q", got, err, tt.want)
				}
				return
			}
			want := tt.b
			if want == nil {
				want = def
			}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("Buckets = %v, %v; want %v", got, err, want)
			}
			if tt.b != nil {
				got[0] = -1
				if tt.b[0] == -1 {
					t.Error("Buckets returned the caller's slice, not a copy")
				}
			}
		})
	}
}

func TestCounters(t *testing.T) {
	tests := []struct {
		policy string
		made   []string // the series mk is asked for, in any order
	}{
		// One series per row, whatever the outcome of the event.
		{"retry", []string{"budget_rejections", "exhausted", "retries"}},
		{"breaker", []string{"calls failure", "calls ignored", "calls rejected", "calls success"}},
		{"fallback", []string{"failed", "served"}},
		{"chaos", nil},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			var made []string
			table := Counters(Policies[tt.policy], func(s *Slot) string {
				id := strings.Join(append([]string{s.Metric.Name}, s.Values...), " ")
				made = append(made, id)
				return id
			})
			slices.Sort(made)
			if !slices.Equal(made, tt.made) {
				t.Errorf("mk called for %q, want %q", made, tt.made)
			}
			slots := Policies[tt.policy].Slots()
			for k := range slots {
				for o, s := range slots[k] {
					want := ""
					if s != nil {
						want = strings.Join(append([]string{s.Metric.Name}, s.Values...), " ")
					}
					if table[k][o] != want {
						t.Errorf("kind %v outcome %v: %q, want %q", bulwark.Kind(k), bulwark.Outcome(o), table[k][o], want)
					}
				}
			}
		})
	}
}
