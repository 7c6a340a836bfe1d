package faultsuite

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	soakFor    = flag.Duration("soak", 0, "run TestSoak for this long (scripts/soak.sh sets it; 0 skips it)")
	soakBinary = flag.String("bulwark", "", "the bulwark binary TestSoak runs")
)

// TestSoak runs the proxy process under cycling faults and load and checks
// that its goroutines, heap and fds stay flat. scripts/soak.sh runs it.
func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("run by scripts/soak.sh (-soak DURATION -bulwark BINARY)")
	}
	// The warm-up is one cycle of the faults: the connection pools reach
	// their sizes during the first.
	every, phase := 10*time.Second, 15*time.Second
	if *soakFor < 5*time.Minute { // the CI run: more samples, faster cycle
		every, phase = 2*time.Second, 2*time.Second
	}
	warmup := time.Duration(len(soakCycle)) * phase
	res, err := Soak(context.Background(), SoakConfig{Binary: *soakBinary, Duration: *soakFor, Every: every, Phase: phase, Log: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sent %d, answered %d, by status %v", res.Sent, res.Answered, res.ByStatus)
	for _, v := range res.Flat(warmup) {
		t.Error(v)
	}
}

func TestSlope(t *testing.T) {
	for _, tc := range []struct {
		xs, ys []float64
		want   float64
	}{
		{[]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{[]float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{[]float64{0, 1, 2, 3}, []float64{4, 3, 2, 1}, -1},
		{[]float64{1}, []float64{1}, 0},
		{[]float64{2, 2}, []float64{1, 5}, 0},
	} {
		if got := Slope(tc.xs, tc.ys); got != tc.want {
			t.Errorf("Slope(%v, %v) = %v, want %v", tc.xs, tc.ys, got, tc.want)
		}
	}
}

func TestFlat(t *testing.T) {
	mk := func(f func(i int) (g, h, fd float64)) *SoakResult {
		r := &SoakResult{Sent: 10, Answered: 10}
		for i := range 30 {
			g, h, fd := f(i)
			r.Samples = append(r.Samples, SoakSample{At: time.Duration(i) * 10 * time.Second, Goroutines: g, Heap: h, FDs: fd})
		}
		return r
	}
	// A flat process whose figures swing with the fault cycle passes.
	swing := mk(func(i int) (float64, float64, float64) {
		return 40 + float64(30*(i%3)), 8<<20 + float64((i%4)<<20), 30 + float64(i%2*8)
	})
	if v := swing.Flat(30 * time.Second); len(v) != 0 {
		t.Errorf("a swinging flat process: %v", v)
	}
	// Leaks fail, each named.
	for name, f := range map[string]func(int) (float64, float64, float64){
		"goroutines": func(i int) (float64, float64, float64) { return 40 + 5*float64(i), 8 << 20, 30 },
		"heap":       func(i int) (float64, float64, float64) { return 40, 8<<20 + float64(i)*(1<<20), 30 },
		"open fds":   func(i int) (float64, float64, float64) { return 40, 8 << 20, 30 + float64(i) },
	} {
		v := mk(f).Flat(30 * time.Second)
		if len(v) != 1 || !contains(v[0], name+" grows") {
			t.Errorf("a %s leak: %v", name, v)
		}
	}
	lost := mk(func(int) (float64, float64, float64) { return 1, 1, 1 })
	lost.Answered = 9
	if v := lost.Flat(0); len(v) != 1 {
		t.Errorf("a lost request: %v", v)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
