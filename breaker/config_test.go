package breaker

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		c     Config
		field string
	}{
		{"unknown window", Config{Window: 9}, "Window"},
		{"negative window", Config{WindowSize: -1}, "WindowSize"},
		{"count window too big", Config{WindowSize: MaxCountWindow + 1}, "WindowSize"},
		{"time window too big", Config{Window: WindowTime, WindowSize: MaxTimeWindow + 1}, "WindowSize"},
		{"negative minimum", Config{MinimumCalls: -1}, "MinimumCalls"},
		{"minimum above count window", Config{WindowSize: 5, MinimumCalls: 6}, "MinimumCalls"},
		{"minimum with consecutive", Config{Window: WindowConsecutive, MinimumCalls: 3}, "MinimumCalls"},
		{"negative failure rate", Config{FailureRateThreshold: -0.1}, "FailureRateThreshold"},
		{"failure rate above 1", Config{FailureRateThreshold: 1.5}, "FailureRateThreshold"},
		{"failure rate NaN", Config{FailureRateThreshold: math.NaN()}, "FailureRateThreshold"},
		{"slow rate above 1", Config{SlowCallRateThreshold: 2}, "SlowCallRateThreshold"},
		{"negative slow rate", Config{SlowCallRateThreshold: -1}, "SlowCallRateThreshold"},
		{"negative slow duration", Config{SlowCallDuration: -time.Second}, "SlowCallDuration"},
		{"negative wait", Config{WaitDuration: -time.Second}, "WaitDuration"},
		{"multiplier below 1", Config{WaitMultiplier: 0.5}, "WaitMultiplier"},
		{"multiplier NaN", Config{WaitMultiplier: math.NaN()}, "WaitMultiplier"},
		{"negative max wait", Config{MaxWaitDuration: -time.Second}, "MaxWaitDuration"},
		{"max wait below wait", Config{WaitDuration: time.Minute, MaxWaitDuration: time.Second}, "MaxWaitDuration"},
		{"negative jitter", Config{WaitJitter: -0.1}, "WaitJitter"},
		{"jitter of 1", Config{WaitJitter: 1}, "WaitJitter"},
		{"jitter NaN", Config{WaitJitter: math.NaN()}, "WaitJitter"},
		{"negative half-open calls", Config{HalfOpenCalls: -1}, "HalfOpenCalls"},
		{"negative max half-open", Config{MaxHalfOpen: -time.Second}, "MaxHalfOpen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br, err := New(tc.c)
			if err == nil {
				t.Fatalf("New(%+v) = %v, nil; want an error naming %s", tc.c, br, tc.field)
			}
			if want := "Config." + tc.field + " "; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
			if !strings.HasPrefix(err.Error(), "breaker: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		c        Config
		want     settings
		wantSize int
	}{
		{"zero", Config{}, settings{size: 100, minCalls: 10, failRate: 0.5, slowRate: 1, wait: 30 * time.Second,
			mult: 1, maxWait: 300 * time.Second, halfOpen: 3, maxHalfOpen: time.Minute}, 100},
		{"small count window", Config{WindowSize: 4}, settings{size: 4, minCalls: 4, failRate: 0.5, slowRate: 1,
			wait: 30 * time.Second, mult: 1, maxWait: 300 * time.Second, halfOpen: 3, maxHalfOpen: time.Minute}, 4},
		{"time window", Config{Window: WindowTime}, settings{window: WindowTime, size: 60, minCalls: 10, failRate: 0.5,
			slowRate: 1, wait: 30 * time.Second, mult: 1, maxWait: 300 * time.Second, halfOpen: 3, maxHalfOpen: time.Minute}, 60},
		{"consecutive", Config{Window: WindowConsecutive}, settings{window: WindowConsecutive, size: 5, failRate: 0.5,
			slowRate: 1, wait: 30 * time.Second, mult: 1, maxWait: 300 * time.Second, halfOpen: 3, maxHalfOpen: time.Minute}, 5},
		{"max wait follows wait", Config{WaitDuration: time.Second}, settings{size: 100, minCalls: 10, failRate: 0.5,
			slowRate: 1, wait: time.Second, mult: 1, maxWait: 10 * time.Second, halfOpen: 3, maxHalfOpen: time.Minute}, 100},
		{"set values kept", Config{WindowSize: 20, MinimumCalls: 20, FailureRateThreshold: 1, SlowCallRateThreshold: 0.1,
			SlowCallDuration: time.Second, WaitDuration: time.Minute, WaitMultiplier: 1.5, MaxWaitDuration: time.Hour,
			WaitJitter: 0.2, HalfOpenCalls: 1, MaxHalfOpen: time.Second},
			settings{size: 20, minCalls: 20, failRate: 1, slowRate: 0.1, slowDur: time.Second, wait: time.Minute,
				mult: 1.5, maxWait: time.Hour, jitter: 0.2, halfOpen: 1, maxHalfOpen: time.Second}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.settings()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("settings:\n got %+v\nwant %+v", *got, tc.want)
			}
			if s := mustNew(t, tc.c).Snapshot(); s.WindowSize != tc.wantSize || s.Window != tc.c.Window ||
				s.Wait != tc.want.wait || s.State != StateClosed {
				t.Errorf("snapshot %+v", s)
			}
		})
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{StateClosed.String(), "closed"},
		{StateOpen.String(), "open"},
		{StateHalfOpen.String(), "half-open"},
		{StateForcedOpen.String(), "forced-open"},
		{StateForcedClosed.String(), "forced-closed"},
		{StateDisabled.String(), "disabled"},
		{StateMetricsOnly.String(), "metrics-only"},
		{State(42).String(), "State(42)"},
		{WindowCount.String(), "count"},
		{WindowTime.String(), "time"},
		{WindowConsecutive.String(), "consecutive"},
		{WindowKind(7).String(), "WindowKind(7)"},
		{CauseFailureRate.String(), "failure-rate"},
		{CauseReconfigure.String(), "reconfigure"},
		{Cause(0).String(), "Cause(0)"},
		{(&OpenError{Name: "db", State: StateOpen}).Error(), "breaker: db: open"},
		{(&OpenError{State: StateOpen}).Error(), "breaker: open"},
		{(&OpenError{Name: "db", State: StateHalfOpen}).Error(), "breaker: db: half-open, no probe permit left"},
		{(&OpenError{Name: "db", State: StateForcedOpen}).Error(), "breaker: db: forced open"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
