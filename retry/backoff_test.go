package retry

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestBackoffSequences(t *testing.T) {
	tests := []struct {
		name    string
		backoff Backoff
		want    []time.Duration // Delay(1), Delay(2), ...
	}{
		{"constant", Constant{Interval: 50 * ms}, []time.Duration{50 * ms, 50 * ms, 50 * ms, 50 * ms}},
		{"constant zero", Constant{}, []time.Duration{0, 0, 0}},
		{"linear", Linear{Initial: 100 * ms, Step: 50 * ms}, []time.Duration{100 * ms, 150 * ms, 200 * ms, 250 * ms}},
		{"linear capped", Linear{Initial: 100 * ms, Step: 100 * ms, Max: 250 * ms}, []time.Duration{100 * ms, 200 * ms, 250 * ms, 250 * ms}},
		{"linear no step", Linear{Initial: 70 * ms}, []time.Duration{70 * ms, 70 * ms, 70 * ms}},
		{"exponential", Exponential{Initial: 100 * ms, Multiplier: 2}, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms}},
		{"exponential default multiplier", Exponential{Initial: 10 * ms}, []time.Duration{10 * ms, 20 * ms, 40 * ms}},
		{"exponential 1.5", Exponential{Initial: 100 * ms, Multiplier: 1.5}, []time.Duration{100 * ms, 150 * ms, 225 * ms, 337500 * time.Microsecond}},
		{"exponential capped", Exponential{Initial: 100 * ms, Multiplier: 3, Max: time.Second}, []time.Duration{100 * ms, 300 * ms, 900 * ms, time.Second, time.Second}},
		{"exponential multiplier 1", Exponential{Initial: 30 * ms, Multiplier: 1}, []time.Duration{30 * ms, 30 * ms, 30 * ms}},
		{"seed example", Exponential{Initial: 100 * ms, Multiplier: 2, Max: 10 * time.Second},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				if got := tt.backoff.Delay(i + 1); got != want {
					t.Errorf("Delay(%d) = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

func TestBackoffHugeAttemptsDoNotOverflow(t *testing.T) {
	tests := []struct {
		name    string
		backoff Backoff
		want    time.Duration
	}{
		{"exponential uncapped", Exponential{Initial: time.Second}, math.MaxInt64},
		{"exponential capped", Exponential{Initial: time.Second, Max: time.Hour}, time.Hour},
		{"linear uncapped", Linear{Initial: time.Second, Step: time.Hour}, math.MaxInt64},
		{"linear capped", Linear{Initial: time.Second, Step: time.Hour, Max: 5 * time.Hour}, 5 * time.Hour},
	}
	for _, tt := range tests {
		for _, n := range []int{math.MaxInt32, math.MaxInt32 + 1, math.MaxInt} {
			if got := tt.backoff.Delay(n); got != tt.want {
				t.Errorf("%s: Delay(%d) = %v, want %v", tt.name, n, got, tt.want)
			}
		}
	}
}

func TestBackoffValidation(t *testing.T) {
	tests := []struct {
		backoff Backoff
		want    string // "" for valid
	}{
		{Constant{Interval: -1}, "retry: Config.Backoff: Constant.Interval is negative (-1ns)"},
		{Linear{Initial: -1}, "retry: Config.Backoff: Linear.Initial is negative (-1ns)"},
		{Linear{Step: -1}, "retry: Config.Backoff: Linear.Step is negative (-1ns)"},
		{Linear{Max: -1}, "retry: Config.Backoff: Linear.Max is negative (-1ns)"},
		{Linear{Initial: 2 * ms, Max: ms}, "retry: Config.Backoff: Linear.Max (1ms) is below Linear.Initial (2ms)"},
		{Exponential{}, "retry: Config.Backoff: Exponential.Initial must be positive (got 0s)"},
		{Exponential{Initial: ms, Multiplier: 0.5}, "retry: Config.Backoff: Exponential.Multiplier must be at least 1 (got 0.5)"},
		{Exponential{Initial: ms, Multiplier: math.Inf(1)}, "retry: Config.Backoff: Exponential.Multiplier must be at least 1 (got +Inf)"},
		{Exponential{Initial: ms, Multiplier: math.NaN()}, "retry: Config.Backoff: Exponential.Multiplier must be at least 1 (got NaN)"},
		{Exponential{Initial: ms, Max: -1}, "retry: Config.Backoff: Exponential.Max is negative (-1ns)"},
		{Exponential{Initial: 2 * ms, Max: ms}, "retry: Config.Backoff: Exponential.Max (1ms) is below Exponential.Initial (2ms)"},
		{Constant{}, ""},
		{Linear{}, ""},
		{Exponential{Initial: ms, Multiplier: 1, Max: ms}, ""},
	}
	for _, tt := range tests {
		_, err := New(Config{Backoff: tt.backoff})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("New(Config{Backoff: %#v}) error = %q, want %q", tt.backoff, got, tt.want)
		}
	}
}

func TestJitterBounds(t *testing.T) {
	const draws = 2000
	tests := []struct {
		name    string
		backoff Backoff
		jitter  Jitter
		n       int // retry number
		lo, hi  time.Duration
	}{
		{"none", Exponential{Initial: 100 * ms}, JitterNone, 3, 400 * ms, 400 * ms},
		{"full", Exponential{Initial: 100 * ms}, JitterFull, 3, 0, 400 * ms},
		{"equal", Exponential{Initial: 100 * ms}, JitterEqual, 3, 200 * ms, 400 * ms},
		{"full constant", Constant{Interval: time.Second}, JitterFull, 1, 0, time.Second},
		{"equal zero", Constant{}, JitterEqual, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(Config{Backoff: tt.backoff, Jitter: tt.jitter, Rand: rand.NewPCG(1, 2)})
			if err != nil {
				t.Fatal(err)
			}
			var prev time.Duration
			minSeen, maxSeen := time.Duration(math.MaxInt64), time.Duration(0)
			for range draws {
				d := r.delay(tt.n, nil, &prev)
				if d < tt.lo || d > tt.hi {
					t.Fatalf("delay %v outside [%v, %v]", d, tt.lo, tt.hi)
				}
				minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
			}
			// The draws must spread over the range, not sit at one point.
			if span := tt.hi - tt.lo; span > 0 && maxSeen-minSeen < span*9/10 {
				t.Errorf("draws span [%v, %v], want most of [%v, %v]", minSeen, maxSeen, tt.lo, tt.hi)
			}
		})
	}
}

func TestJitterDecorrelated(t *testing.T) {
	r, err := New(Config{Backoff: Exponential{Initial: 100 * ms, Max: 2 * time.Second}, Jitter: JitterDecorrelated,
		Rand: rand.NewPCG(3, 4)})
	if err != nil {
		t.Fatal(err)
	}
	for run := range 200 {
		var prev time.Duration
		last := 100 * ms
		for n := 1; n <= 12; n++ {
			d := r.delay(n, nil, &prev)
			hi := min(3*last, 2*time.Second)
			if d < 100*ms || d > hi {
				t.Fatalf("run %d retry %d: delay %v outside [100ms, %v]", run, n, d, hi)
			}
			if prev != d {
				t.Fatalf("prev = %v after a delay of %v", prev, d)
			}
			last = d
		}
	}

	// With a Constant backoff the cap is the interval: no spread.
	c, _ := New(Config{Backoff: Constant{Interval: 300 * ms}, Jitter: JitterDecorrelated})
	var prev time.Duration
	for n := 1; n <= 5; n++ {
		if d := c.delay(n, nil, &prev); d != 300*ms {
			t.Fatalf("constant decorrelated delay = %v, want 300ms", d)
		}
	}
}

// customBackoff has no cap: decorrelated jitter can grow to 3× each time.
type customBackoff struct{}

func (customBackoff) Delay(n int) time.Duration { return time.Duration(n) * ms }

func TestJitterDecorrelatedCustomBackoffHasNoCap(t *testing.T) {
	r, _ := New(Config{Backoff: customBackoff{}, Jitter: JitterDecorrelated, Rand: rand.NewPCG(5, 6)})
	var prev, most time.Duration
	for n := 1; n <= 200; n++ {
		last := max(prev, ms)
		d := r.delay(n, nil, &prev)
		if d < ms || d > 3*last {
			t.Fatalf("retry %d: delay %v outside [1ms, %v]", n, d, 3*last)
		}
		most = max(most, d)
	}
	if most < time.Second {
		t.Errorf("200 decorrelated retries from 1ms with no cap never waited 1s (longest %v)", most)
	}
}

func TestJitterSeededIsRepeatable(t *testing.T) {
	draw := func() []time.Duration {
		r, _ := New(Config{Backoff: Constant{Interval: time.Second}, Jitter: JitterFull, Rand: rand.NewPCG(7, 8)})
		var out []time.Duration
		var prev time.Duration
		for n := 1; n <= 5; n++ {
			out = append(out, r.delay(n, nil, &prev))
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed gave %v and %v", a, b)
		}
	}
}

func TestJitterString(t *testing.T) {
	for j, want := range map[Jitter]string{JitterNone: "none", JitterFull: "full", JitterEqual: "equal",
		JitterDecorrelated: "decorrelated", 9: "Jitter(9)"} {
		if got := j.String(); got != want {
			t.Errorf("Jitter(%d).String() = %q, want %q", j, got, want)
		}
	}
}
