package retry

import (
	"fmt"
	"math"
	"time"
)

// A Backoff gives the wait before each retry, before jitter is applied.
//
// Delay(n) is the wait before retry n: Delay(1) comes after the first attempt
// fails, Delay(2) after the second, and so on. It is called with any n ≥ 1
// (there is no upper bound when only MaxElapsed limits the attempts) and must
// be safe for concurrent use. A negative result is treated as zero.
//
// [Constant], [Linear] and [Exponential] are the built-in kinds.
type Backoff interface {
	Delay(n int) time.Duration
}

// Constant waits the same Interval before every retry. An Interval of zero
// retries at once.
type Constant struct {
	Interval time.Duration
}

// Delay returns c.Interval.
func (c Constant) Delay(int) time.Duration { return c.Interval }

func (c Constant) validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("Constant.Interval is negative (%v)", c.Interval)
	}
	return nil
}

func (c Constant) ceiling() time.Duration { return c.Interval }

// Linear waits Initial before the first retry and Step longer before each
// following one, never more than Max: Delay(n) = min(Initial + (n-1)·Step, Max).
// A Max of zero means no cap.
type Linear struct {
	Initial time.Duration
	Step    time.Duration
	Max     time.Duration
}

// Delay returns min(Initial + (n-1)·Step, Max).
func (l Linear) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := l.Initial
	if l.Step > 0 && n > 1 {
		k := int64(n - 1)
		if k > (math.MaxInt64-int64(l.Initial))/int64(l.Step) {
			d = math.MaxInt64
		} else {
			d += time.Duration(k) * l.Step
		}
	}
	if l.Max > 0 && d > l.Max {
		d = l.Max
	}
	return d
}

func (l Linear) validate() error {
	switch {
	case l.Initial < 0:
		return fmt.Errorf("Linear.Initial is negative (%v)", l.Initial)
	case l.Step < 0:
		return fmt.Errorf("Linear.Step is negative (%v)", l.Step)
	case l.Max < 0:
		return fmt.Errorf("Linear.Max is negative (%v)", l.Max)
	case l.Max > 0 && l.Max < l.Initial:
		return fmt.Errorf("Linear.Max (%v) is below Linear.Initial (%v)", l.Max, l.Initial)
	}
	return nil
}

func (l Linear) ceiling() time.Duration { return l.Max }

// Exponential waits Initial before the first retry and Multiplier times
// longer before each following one, never more than Max:
// Delay(n) = min(Initial · Multiplier^(n-1), Max).
//
// Initial must be positive. A Multiplier of zero means 2; otherwise it must
// be at least 1. A Max of zero means no cap.
type Exponential struct {
	Initial    time.Duration
	Multiplier float64
	Max        time.Duration
}

// Delay returns min(Initial · Multiplier^(n-1), Max).
func (e Exponential) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	m := e.Multiplier
	if m == 0 {
		m = 2
	}
	limit := time.Duration(math.MaxInt64)
	if e.Max > 0 {
		limit = e.Max
	}
	f := float64(e.Initial) * math.Pow(m, float64(n-1))
	if f >= float64(limit) || math.IsNaN(f) {
		return limit
	}
	return time.Duration(f)
}

func (e Exponential) validate() error {
	switch {
	case e.Initial <= 0:
		return fmt.Errorf("Exponential.Initial must be positive (got %v)", e.Initial)
	case e.Multiplier != 0 && (e.Multiplier < 1 || math.IsInf(e.Multiplier, 0) || math.IsNaN(e.Multiplier)):
		return fmt.Errorf("Exponential.Multiplier must be at least 1 (got %v)", e.Multiplier)
	case e.Max < 0:
		return fmt.Errorf("Exponential.Max is negative (%v)", e.Max)
	case e.Max > 0 && e.Max < e.Initial:
		return fmt.Errorf("Exponential.Max (%v) is below Exponential.Initial (%v)", e.Max, e.Initial)
	}
	return nil
}

func (e Exponential) ceiling() time.Duration { return e.Max }

// validator is implemented by the built-in backoffs.
type validator interface{ validate() error }

// ceilinged is implemented by the built-in backoffs: the largest delay they
// give, or zero when they have no cap.
type ceilinged interface{ ceiling() time.Duration }

// Jitter randomises the backoff's delays so that clients that failed
// together do not retry together.
type Jitter uint8

// The kinds of jitter. For a backoff delay d:
const (
	// JitterNone waits exactly d.
	JitterNone Jitter = iota
	// JitterFull waits a uniformly random time in [0, d].
	JitterFull
	// JitterEqual waits d/2 plus a uniformly random time in [0, d/2].
	JitterEqual
	// JitterDecorrelated replaces the backoff's curve by decorrelated
	// jitter: each wait is uniformly random in [base, 3·previous wait],
	// where base is the backoff's first delay (Delay(1)) and the first
	// "previous wait" is base. The wait never exceeds the built-in
	// backoffs' cap (Constant.Interval, Linear.Max, Exponential.Max);
	// a custom Backoff has no cap other than MaxElapsed and the context's
	// deadline. With a Constant backoff it therefore waits exactly Interval.
	JitterDecorrelated
)

// String returns "none", "full", "equal" or "decorrelated".
func (j Jitter) String() string {
	switch j {
	case JitterNone:
		return "none"
	case JitterFull:
		return "full"
	case JitterEqual:
		return "equal"
	case JitterDecorrelated:
		return "decorrelated"
	}
	return fmt.Sprintf("Jitter(%d)", uint8(j))
}
