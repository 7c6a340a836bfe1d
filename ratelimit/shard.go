package ratelimit

import (
	"math"
	"math/bits"
	"runtime"
	"sync/atomic"
)

// A Limiter with a large burst splits its allowance over shards, so that
// callers on different cores do not all update one cache line: shard i
// holds its own GCRA state, with the rate divided by the number of shards
// S (its interval is S times the limiter's, exactly) and an S-th of the
// burst (the remainder going one event each to the first shards), so the
// shards' rates and bursts add up to the limiter's exactly. Each shard
// admits at most its burst plus its rate times the time passed, so all
// together admit at most Burst + Rate × time: never more than one state
// would.
//
// A call starts at one shard (shard 0 until callers have collided, then
// its processor's, from a hint kept in a sync.Pool: no shared write) and
// tries the others in turn before it refuses, so it is refused only when
// no shard holds a whole event, and a lone caller can use the whole burst.
//
// Allow, AllowAt, AllowN, Check, CheckN and Execute (without MaxWait) use
// the shards. Reserve, Wait, SetLimit, SetRate, SetBurst, and a request
// for several events that no one shard holds, fold the shards back into
// the single state for good (unshard); a limiter never shards again.
const (
	// minShardBurst is the least burst per shard for a limiter to shard.
	minShardBurst = 64
	// maxLimiterShards caps the number of shards.
	maxLimiterShards = 16
	// sealed marks a shard folded back into the single state.
	sealed = math.MaxUint64
)

// shard is one part of a sharded limiter's allowance, alone on its cache
// line.
type shard struct {
	tat     atomic.Uint64
	allowed atomic.Uint64
	_       [48]byte
}

// shardCount returns how many shards a limiter made now should have: a
// power of two at least GOMAXPROCS, at most maxLimiterShards; 1 means none.
func shardCount() int {
	n := runtime.GOMAXPROCS(0)
	if n <= 1 {
		return 1
	}
	return min(1<<bits.Len(uint(n-1)), maxLimiterShards)
}

// canShard reports whether the setting p can be split over s shards.
func (p *limits) canShard(s int) bool {
	if s < 2 || p.unlimited || p.burst < minShardBurst*s || p.interval > maxSpan/int64(s) {
		return false
	}
	return int64(p.burst/s+1) <= maxSpan/(p.interval*int64(s))
}

// split sets p's shard fields for s shards.
func (p *limits) split(s int) {
	p.sharded = true
	p.shardInterval = p.interval * int64(s)
	p.shardBurst = p.burst / s
	p.shardRem = p.burst % s
	p.shardTau = int64(p.shardBurst) * p.shardInterval
}

// tauOf returns shard i's tau.
func (p *limits) tauOf(i int) int64 {
	if i < p.shardRem {
		return p.shardTau + p.shardInterval
	}
	return p.shardTau
}

// gcra is limits.take for a given cost and tau.
func gcra(tat, now uint64, cost, tau int64) (next uint64, over int64) {
	start := tat
	if ahead(now, tat) > 0 {
		start = now
	}
	next = start + uint64(cost)
	return next, ahead(next, now) - tau
}

// allowSharded decides n events over the shards. retry is true when the
// shards are being folded: the caller must decide again under the new
// setting. When it refuses, over is the shortest wait of any shard.
//
// It tries its start shard first, reading the clock after loading the
// shard's state (see clock); then, if that shard has no room, it loads the
// others' states, reads the clock once, and tries them in turn.
//
// The start shard is shard 0 until two callers have been seen to collide
// (a compare-and-swap failed): from then on it is the shard kept as a
// hint for the processor the call runs on, so that a lone caller pays for
// no hint, and callers on different cores keep to different cache lines.
func (l *Limiter) allowSharded(p *limits, now uint64, live bool, n int) (ok bool, over int64, retry bool) {
	s := len(l.shards)
	cost := int64(n) * p.shardInterval
	var h *shardHint
	j := 0
	if l.spread.Load() {
		h, _ = l.hints.Get().(*shardHint)
		j = h.i & (s - 1)
	}
	sh := &l.shards[j]
	for {
		tat := sh.tat.Load()
		if tat == sealed { // being folded: see unshardLocked
			l.putHint(h, -1)
			return false, 0, true
		}
		if live {
			now = l.now()
		}
		next, o := gcra(tat, now, cost, p.tauOf(j))
		if o > 0 {
			over = o
			break
		}
		if sh.tat.CompareAndSwap(tat, next) {
			sh.allowed.Add(1)
			l.putHint(h, j)
			return true, 0, false
		}
		l.collided()
	}
	var tats [maxLimiterShards]uint64
	for k := 1; k < s; k++ {
		tats[k] = l.shards[(j+k)&(s-1)].tat.Load()
	}
	if live {
		now = l.now() // after the loads; see clock
	}
	for k := 1; k < s; k++ {
		i := (j + k) & (s - 1)
		sh := &l.shards[i]
		tat := tats[k]
		for {
			if tat == sealed {
				l.putHint(h, -1)
				return false, 0, true
			}
			next, o := gcra(tat, now, cost, p.tauOf(i))
			if o > 0 {
				over = min(over, o)
				break
			}
			if sh.tat.CompareAndSwap(tat, next) {
				sh.allowed.Add(1)
				l.putHint(h, i)
				return true, 0, false
			}
			l.collided()
			tat = sh.tat.Load()
			if live {
				now = l.now()
			}
		}
	}
	l.putHint(h, -1)
	return false, over, false
}

// collided records that two callers met on one shard: from now on, calls
// start at their processor's shard.
func (l *Limiter) collided() {
	if !l.spread.Load() {
		l.spread.Store(true)
	}
}

// putHint returns the hint h, if any, to the pool, set to the shard i that
// admitted the call (i < 0: unchanged).
func (l *Limiter) putHint(h *shardHint, i int) {
	if h == nil {
		return
	}
	if i >= 0 {
		h.i = i
	}
	l.hints.Put(h)
}

// shardHint is the shard a processor starts at, kept in a sync.Pool so
// that each P (mostly) has its own: calls on one core keep to one shard's
// cache line. A new hint takes the next shard in turn.
type shardHint struct{ i int }

// allowShards is allow on a sharded limiter. It returns done false, having
// decided nothing, when the request must go to the single state: more
// than one event that no shard holds, or shards folded back meanwhile.
func (l *Limiter) allowShards(p *limits, now uint64, live bool, n int) (ok bool, over int64, done bool) {
	if n > p.burst {
		l.refuse(math.MaxInt64)
		return false, math.MaxInt64, true
	}
	if n > p.shardBurst {
		return false, 0, false
	}
	ok, over, retry := l.allowSharded(p, now, live, n)
	if retry || !ok && n > 1 {
		// Several events that no one shard holds may still fit in the
		// shards together: fold, and let the single state decide.
		return false, 0, false
	}
	if !ok {
		l.refuse(over)
	}
	return ok, over, true
}

// shardDecision is limits.decision over the shards at now.
func (l *Limiter) shardDecision(p *limits, allowed bool, now uint64, over int64) Decision {
	iv := p.shardInterval
	d := Decision{Allowed: allowed, Limit: p.burst}
	var reset int64
	for i := range l.shards {
		tat := l.shards[i].tat.Load()
		if tat == sealed { // being folded: count it empty
			continue
		}
		debt := max(ahead(tat, now), 0)
		d.Remaining += int(max(p.tauOf(i)-debt, 0) / iv)
		reset = max(reset, debt)
	}
	d.ResetAfter = durationOf(reset)
	if !allowed {
		d.RetryAfter = durationOf(over)
	}
	return d
}

// shardTokens is limits.tokens over the shards.
func (l *Limiter) shardTokens(p *limits, now uint64) float64 {
	iv := float64(p.shardInterval)
	var t float64
	for i := range l.shards {
		tat := l.shards[i].tat.Load()
		if tat == sealed { // being folded: count it empty
			continue
		}
		debt := max(ahead(tat, now), 0)
		t += float64(p.tauOf(i)-debt) / iv
	}
	return t
}

// unshard folds the shards back into the single state, for good, and
// returns the setting then in force. now is the time of the call that
// folds (when live, it reads the clock itself).
func (l *Limiter) unshard(now uint64, live bool) *limits {
	l.setMu.Lock()
	defer l.setMu.Unlock()
	return l.unshardLocked(now, live)
}

// unshardLocked is unshard with setMu held. It first seals every shard:
// a caller still working on a shard then sees it sealed, or fails its
// compare-and-swap and then sees it sealed, and comes here, where it waits
// for setMu; no shard admits anything after its seal. The single state
// then owes what the shards owed together at now: its theoretical arrival
// time is now plus the sum of the shards' debts divided by their number
// (a shard's event takes shards times the interval), rounded up. Each
// shard's arrival time, counted from now when it is idle, is at least the
// earliest time used plus its events times its interval, so the single
// state's is at least that time plus all the events times the interval,
// and GCRA goes on from there: over the whole run, the limiter admits no
// more than one state would have.
func (l *Limiter) unshardLocked(now uint64, live bool) *limits {
	p := l.limits.Load()
	if !p.sharded {
		return p
	}
	var tats [maxLimiterShards]uint64
	for i := range l.shards {
		tats[i] = l.shards[i].tat.Swap(sealed)
	}
	if live {
		now = l.now()
	}
	s := int64(len(l.shards))
	tat := now
	for _, t := range tats[:s] {
		if d := ahead(t, now); d > 0 {
			tat += uint64((d + s - 1) / s)
		}
	}
	l.tat.Store(tat)
	q := *p
	q.sharded = false
	l.limits.Store(&q)
	return &q
}
