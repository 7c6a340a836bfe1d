package simulate

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Distribution names the shape of a [Latency].
type Distribution string

// The latency distributions.
const (
	Fixed       Distribution = "fixed"       // always Value
	Normal      Distribution = "normal"      // mean Value, standard deviation StdDev, cut at 0
	LogNormal   Distribution = "lognormal"   // median Value, σ of the logarithm Sigma
	Percentiles Distribution = "percentiles" // interpolated between the given percentiles
)

// Latency is a distribution of service times.
type Latency struct {
	// Dist is the distribution. Default [Fixed].
	Dist Distribution `json:"dist" yaml:"dist"`
	// Value is the fixed latency, the normal's mean or the log-normal's
	// median.
	Value time.Duration `json:"value" yaml:"value"`
	// StdDev is the normal's standard deviation.
	StdDev time.Duration `json:"stddev" yaml:"stddev"`
	// Sigma is the log-normal's σ, the standard deviation of the
	// logarithm: 0.5 puts the 99th percentile at 3.2 times the median.
	Sigma float64 `json:"sigma" yaml:"sigma"`
	// Points are the percentiles of [Percentiles]: at least two, in
	// increasing order of both percentile and latency, the last at 100.
	Points []Percentile `json:"points" yaml:"points"`
}

// Percentile is one point of a latency distribution given by percentiles:
// P percent of calls take at most Value.
type Percentile struct {
	P     float64       `json:"p" yaml:"p"`
	Value time.Duration `json:"value" yaml:"value"`
}

func (l *Latency) validate() []*FieldError {
	var errs []*FieldError
	bad := func(path, msg string) { errs = append(errs, &FieldError{Path: path, Msg: msg}) }
	if l.Value < 0 {
		bad("value", "must not be negative, got "+l.Value.String())
	}
	if l.StdDev < 0 {
		bad("stddev", "must not be negative, got "+l.StdDev.String())
	}
	if math.IsNaN(l.Sigma) || l.Sigma < 0 || l.Sigma > 10 {
		bad("sigma", "must be in [0,10], got "+strconv.FormatFloat(l.Sigma, 'g', -1, 64))
	}
	switch l.Dist {
	case "", Fixed, Normal, LogNormal:
	case Percentiles:
		if len(l.Points) < 2 {
			bad("points", "at least two percentiles are needed")
			break
		}
		for i, p := range l.Points {
			path := "points[" + strconv.Itoa(i) + "]"
			if math.IsNaN(p.P) || p.P < 0 || p.P > 100 {
				bad(path+".p", "must be in [0,100], got "+strconv.FormatFloat(p.P, 'g', -1, 64))
			}
			if p.Value < 0 {
				bad(path+".value", "must not be negative, got "+p.Value.String())
			}
			if i > 0 && (p.P <= l.Points[i-1].P || p.Value < l.Points[i-1].Value) {
				bad(path, "percentiles and their values must increase")
			}
		}
		if last := l.Points[len(l.Points)-1]; last.P != 100 {
			bad("points["+strconv.Itoa(len(l.Points)-1)+"].p", "the last point must be the 100th percentile")
		}
	default:
		bad("dist", "must be fixed, normal, lognormal or percentiles, got "+strconv.Quote(string(l.Dist)))
	}
	return errs
}

// sample draws one latency.
func (l *Latency) sample(r *rand.Rand) time.Duration {
	switch l.Dist {
	case Normal:
		return time.Duration(max(0, float64(l.Value)+r.NormFloat64()*float64(l.StdDev)))
	case LogNormal:
		return time.Duration(float64(l.Value) * math.Exp(r.NormFloat64()*float64(l.StdDev)))
	case Percentiles:
		u := r.Float64() * 100
		prev := Percentile{P: 0, Value: l.Points[0].Value}
		for _, p := range l.Points {
			if u <= p.P {
				if p.P == prev.P {
					return p.Value
				}
				f := (u - prev.P) / (p.P - prev.P)
				return prev.Value + time.Duration(f*float64(p.Value-prev.Value))
			}
			prev = p
		}
		return l.Points[len(l.Points)-1].Value
	}
	return l.Value
}
