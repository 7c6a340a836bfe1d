package retry_test

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwark-go/bulwark/retry"
)

func TestNewBudgetRejectsBadConfig(t *testing.T) {
	tests := []struct {
		c    retry.BudgetConfig
		want string
	}{
		{retry.BudgetConfig{Ratio: -0.1}, "retry: BudgetConfig.Ratio must be positive and finite (got -0.1)"},
		{retry.BudgetConfig{Ratio: math.Inf(1)}, "retry: BudgetConfig.Ratio must be positive and finite (got +Inf)"},
		{retry.BudgetConfig{Ratio: math.NaN()}, "retry: BudgetConfig.Ratio must be positive and finite (got NaN)"},
		{retry.BudgetConfig{MinPerSecond: -1}, "retry: BudgetConfig.MinPerSecond must be positive and finite (got -1)"},
		{retry.BudgetConfig{TTL: 999 * time.Millisecond}, "retry: BudgetConfig.TTL must be between 1s and 5m (got 999ms)"},
		{retry.BudgetConfig{TTL: -time.Second}, "retry: BudgetConfig.TTL must be between 1s and 5m (got -1s)"},
		{retry.BudgetConfig{TTL: 6 * time.Minute}, "retry: BudgetConfig.TTL must be between 1s and 5m (got 6m0s)"},
	}
	for _, tt := range tests {
		b, err := retry.NewBudget(tt.c)
		if err == nil || err.Error() != tt.want || b != nil {
			t.Errorf("NewBudget(%+v) = %v, %v; want nil, %q", tt.c, b, err, tt.want)
		}
	}
}

// withdrawAll withdraws until the budget refuses and returns how many
// withdrawals it allowed.
func withdrawAll(b *retry.Budget) int {
	n := 0
	for b.Withdraw() {
		n++
	}
	return n
}

func TestBudgetExactNumbers(t *testing.T) {
	tests := []struct {
		name     string
		c        retry.BudgetConfig
		deposits int
		want     int
	}{
		// The reserve is MinPerSecond × TTL.
		{"defaults, no calls", retry.BudgetConfig{}, 0, 100},
		{"seed example, no calls", retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}, 0, 100},
		{"seed example, 1000 calls", retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}, 1000, 300},
		{"seed example, 4 calls", retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}, 4, 100},
		{"seed example, 5 calls", retry.BudgetConfig{Ratio: 0.2, MinPerSecond: 10, TTL: 10 * time.Second}, 5, 101},
		{"small", retry.BudgetConfig{Ratio: 0.1, MinPerSecond: 1, TTL: time.Second}, 25, 3},
		{"fractional floor", retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 0.5, TTL: 3 * time.Second}, 3, 3},
		{"ratio above one", retry.BudgetConfig{Ratio: 3, MinPerSecond: 1, TTL: time.Second}, 10, 31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := retry.NewBudget(tt.c)
				if err != nil {
					t.Fatal(err)
				}
				for range tt.deposits {
					b.Deposit()
				}
				want := retry.BudgetSnapshot{Calls: int64(tt.deposits), Available: int64(tt.want)}
				if got := b.Snapshot(); got != want {
					t.Errorf("Snapshot before = %+v, want %+v", got, want)
				}
				if got := withdrawAll(b); got != tt.want {
					t.Errorf("allowed %d retries, want %d", got, tt.want)
				}
				want = retry.BudgetSnapshot{Calls: int64(tt.deposits), Retries: int64(tt.want), Rejected: 1}
				if got := b.Snapshot(); got != want {
					t.Errorf("Snapshot after = %+v, want %+v", got, want)
				}
			})
		})
	}
}

// Events count for TTL, in tenths: an event stops counting between 0.9·TTL
// and TTL after it happened.
func TestBudgetWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := retry.NewBudget(retry.BudgetConfig{Ratio: 1, MinPerSecond: 1, TTL: 10 * time.Second}) // reserve 10
		time.Sleep(500 * time.Millisecond)                                                            // t = 0.5s, tenth 1
		for range 20 {
			b.Deposit()
		}
		if got := withdrawAll(b); got != 30 {
			t.Fatalf("allowed %d retries, want 30", got)
		}
		time.Sleep(4500 * time.Millisecond) // t = 5s, tenth 6
		for range 5 {
			b.Deposit()
		}
		// 25 calls, 30 retries: 25 + 10 - 30 = 5 available.
		if got := b.Snapshot(); got.Calls != 25 || got.Retries != 30 || got.Available != 5 {
			t.Errorf("at 5s: Snapshot = %+v, want 25 calls, 30 retries, 5 available", got)
		}
		time.Sleep(4999 * time.Millisecond) // t = 9.999s: the t=0.5s events still count
		if got := b.Snapshot(); got.Calls != 25 || got.Retries != 30 {
			t.Errorf("at 9.999s: Snapshot = %+v, want 25 calls, 30 retries", got)
		}
		time.Sleep(time.Millisecond) // t = 10s: they are gone (9.5s after they happened)
		if got := b.Snapshot(); got.Calls != 5 || got.Retries != 0 || got.Available != 15 {
			t.Errorf("at 10s: Snapshot = %+v, want 5 calls, 0 retries, 15 available", got)
		}
		time.Sleep(5 * time.Second) // t = 15s: all gone
		if got := b.Snapshot(); got.Calls != 0 || got.Available != 10 {
			t.Errorf("at 15s: Snapshot = %+v, want 0 calls, 10 available", got)
		}
		// Long idle periods recycle every slot correctly.
		time.Sleep(time.Hour)
		b.Deposit()
		if got := withdrawAll(b); got != 11 {
			t.Errorf("after an hour idle: allowed %d, want 11", got)
		}
	})
}

func TestBudgetConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := retry.NewBudget(retry.BudgetConfig{Ratio: 0.5, MinPerSecond: 1, TTL: time.Second})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 1000 {
					b.Deposit()
					b.Withdraw()
				}
			})
		}
		wg.Wait()
		s := b.Snapshot()
		if s.Calls != 8000 {
			t.Errorf("Calls = %d, want 8000", s.Calls)
		}
		// Allowed: 0.5 × 8000 + 1 = 4001; a few extra may slip through under
		// contention, never many.
		if s.Retries < 4001 || s.Retries > 4001+8 {
			t.Errorf("Retries = %d, want about 4001", s.Retries)
		}
		if s.Retries+int64(s.Rejected) != 8000 {
			t.Errorf("Retries %d + Rejected %d != 8000 withdrawals", s.Retries, s.Rejected)
		}
	})
}
