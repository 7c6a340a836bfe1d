package hedge

import "sync/atomic"

// budgetUnit is one hedge's worth of budget.
const budgetUnit = 1 << 20

// budgetBurst is the most hedges the budget holds in reserve, and what it
// starts with.
const budgetBurst = 10

// budget lets hedges be at most a share of calls: every call deposits the
// share, every hedge withdraws one unit. Balances are fixed-point integers
// so that deposits and withdrawals are single atomic steps.
type budget struct {
	share   int64 // the deposit per call, in units of 1/budgetUnit hedge
	ceiling int64
	balance atomic.Int64
}

func newBudget(share float64, maxHedges int) *budget {
	b := &budget{share: int64(share * budgetUnit), ceiling: int64(max(budgetBurst, maxHedges)) * budgetUnit}
	b.balance.Store(b.ceiling)
	return b
}

func (b *budget) deposit() {
	for {
		old := b.balance.Load()
		if old >= b.ceiling {
			return
		}
		if b.balance.CompareAndSwap(old, min(old+b.share, b.ceiling)) {
			return
		}
	}
}

func (b *budget) withdraw() bool {
	for {
		old := b.balance.Load()
		if old < budgetUnit {
			return false
		}
		if b.balance.CompareAndSwap(old, old-budgetUnit) {
			return true
		}
	}
}
