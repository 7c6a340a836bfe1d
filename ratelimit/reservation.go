package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bulwark-go/bulwark"
	bclock "github.com/bulwark-go/bulwark/internal/clock"
)

// A Reservation holds events taken from a limiter ahead of time: they may
// happen once [Reservation.Delay] has passed. It is a value; copying it
// copies the right to cancel, so cancel one copy at most once.
type Reservation struct {
	l         *Limiter
	lim       *limits // the setting it was made under
	ok        bool
	cancelled bool
	cost      int64  // ticks the events added to the theoretical arrival time
	act       uint64 // when the events may happen, in the limiter's ticks
	end       uint64 // the theoretical arrival time the reservation left
}

// OK reports whether the limiter granted the reservation. It is false only
// when more events than the burst were asked for.
func (r Reservation) OK() bool { return r.ok }

// Delay returns how long from now the caller must wait before the reserved
// events may happen: 0 means at once. It is [Never] when !OK().
func (r Reservation) Delay() time.Duration { return r.DelayFrom(r.wall()) }

// wall returns the current time on the limiter's clock.
func (r Reservation) wall() time.Time {
	if r.l == nil {
		return time.Now()
	}
	return r.l.wall()
}

// DelayFrom is Delay measured from the time now.
func (r Reservation) DelayFrom(now time.Time) time.Duration {
	if !r.ok {
		return Never
	}
	if r.l == nil {
		return 0
	}
	return durationOf(ahead(r.act, r.l.at(now)))
}

// Cancel gives the reserved events back to the limiter, for a caller that
// will not act on the reservation after all. See CancelAt.
func (r *Reservation) Cancel() { r.CancelAt(r.wall()) }

// CancelAt is Cancel at the time now. It gives back only the events that
// reservations made after this one do not depend on, the rule of
// golang.org/x/time/rate: those keep their times, and no two reservations
// are ever given one slot. So a reservation with none after it gives back
// all its events, and one followed by reservations that took as many
// events as it holds gives back none. Nothing is given back either when
// the reservation's time has already come (the events count as having
// happened), when the limiter's setting has changed since, or when the
// reservation was already cancelled.
//
// One case differs from x/time/rate: after a reservation with later ones
// has been cancelled (and so gave back only part of its events),
// x/time/rate gives back nothing for the reservations before it, while
// CancelAt gives back what the reservations still standing do not depend
// on. Either way no two events are given one slot; the side-by-side test in
// the bench module checks both against each other.
func (r *Reservation) CancelAt(now time.Time) {
	if !r.ok || r.cancelled || r.l == nil || r.cost == 0 {
		return
	}
	r.cancelled = true
	l := r.l
	t := l.at(now)
	if ahead(r.act, t) <= 0 || l.limits.Load() != r.lim {
		return
	}
	for {
		tat := l.tat.Load()
		next, ok := giveBack(tat, t, r.end, r.cost)
		if !ok || l.tat.CompareAndSwap(tat, next) {
			return
		}
	}
}

// giveBack returns the theoretical arrival time at now after a reservation
// that moved it to end by cost ticks is cancelled, when the state is tat,
// and false when nothing is to be given back. Reservations made since
// moved tat past end: they depend on that much of the cost, which stays
// taken. An earlier cancellation may have moved tat before end: then the
// whole cost comes back, never more. The result is never before now (a
// bucket is never fuller than full).
func giveBack(tat, now, end uint64, cost int64) (uint64, bool) {
	if ahead(tat, now) <= 0 { // full already
		return 0, false
	}
	give := min(cost, cost-ahead(tat, end))
	if give <= 0 {
		return 0, false
	}
	next := tat - uint64(give)
	if ahead(next, now) < 0 {
		next = now
	}
	return next, true
}

// Reserve reserves one event now; see ReserveN.
func (l *Limiter) Reserve() Reservation { return l.ReserveN(l.wall(), 1) }

// ReserveN reserves n events at the time now and says how long to wait
// before they may happen, however long that is. The reservation is not OK
// only when n exceeds the burst. A caller that decides not to wait must
// cancel the reservation so that others may use the events. ReserveN
// counts the events as admitted. It panics if n is negative.
func (l *Limiter) ReserveN(now time.Time, n int) Reservation {
	r, _ := l.reserve(l.at(now), false, n, math.MaxInt64)
	if r.ok {
		l.allowed.Add(1)
	} else {
		l.rejected.Add(1)
	}
	return r
}

// reserve takes n events at now if the wait until they may happen is at
// most limit ticks, and returns the reservation and that wait. When the
// wait is too long, or n exceeds the burst, it returns a reservation that
// is not OK, and the wait (math.MaxInt64 for n beyond the burst). It counts
// nothing.
//
// When live, now is a reading of the clock taken when the call began,
// from which limit counts, and reserve decides at a reading of its own
// (see clock): the time passed since now comes off the limit, but a call
// that need not wait at all is never refused.
func (l *Limiter) reserve(now uint64, live bool, n int, limit int64) (Reservation, int64) {
	if n < 0 {
		panic(fmt.Sprintf("ratelimit: negative event count %d", n))
	}
	p := l.limits.Load()
	if p.unlimited {
		return Reservation{l: l, lim: p, ok: true, act: now}, 0
	}
	if n > p.burst {
		return Reservation{}, math.MaxInt64
	}
	start := now
	var seen uint64
	if live {
		seen, now = l.read()
	}
	for {
		tat := l.tat.Load()
		next, over := p.take(tat, now, n)
		if over > 0 && live && tat != seen { // see clock
			seen, now = tat, l.now()
			next, over = p.take(tat, now, n)
		}
		lim := limit
		if live {
			lim -= max(ahead(now, start), 0)
		}
		wait := max(over, 0)
		if wait > 0 && wait > lim {
			return Reservation{}, wait
		}
		if l.tat.CompareAndSwap(tat, next) {
			return Reservation{l: l, lim: p, ok: true, cost: int64(n) * p.interval, act: now + uint64(wait), end: next}, wait
		}
	}
}

// Wait blocks until one event may happen; see WaitN.
func (l *Limiter) Wait(ctx context.Context) error { return l.waitN(ctx, 1, -1) }

// WaitN blocks until n events may happen, and counts them. When the wait
// would end at or after the context's deadline it returns a *LimitedError
// at once, instead of sleeping and then failing; when the context ends
// the wait it gives the events back and returns ctx.Err(). A request of
// more events than the burst gets a *LimitedError with Delay [Never].
// WaitN panics if n is negative.
func (l *Limiter) WaitN(ctx context.Context, n int) error { return l.waitN(ctx, n, -1) }

// waitN waits for n events for at most maxWait (negative: no limit) and
// until ctx's deadline.
func (l *Limiter) waitN(ctx context.Context, n int, maxWait time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := l.now()
	limit := waitLimitOn(ctx, l.clk, maxWait)
	r, wait := l.reserve(now, true, n, limit)
	if !r.ok {
		l.rejected.Add(1)
		delay := delayOf(wait)
		err := l.limited(delay)
		if l.obs != nil {
			l.observeRejected(err, delay)
		}
		return err
	}
	if wait == 0 {
		l.allowed.Add(1)
		return nil
	}
	d := durationOf(wait)
	t := bclock.NewTimer(l.clk, d)
	select {
	case <-t.C():
		l.allowed.Add(1)
		if l.obs != nil {
			l.obs.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "ratelimit", Name: l.name, Delay: d})
		}
		return nil
	case <-ctx.Done():
		t.Stop()
		r.Cancel()
		return ctx.Err()
	}
}

// waitLimitOn returns the longest wait, in ticks, that ends within
// maxWait (negative: no limit) and strictly before ctx's deadline, read on
// the clock clk.
func waitLimitOn(ctx context.Context, clk bulwark.Clock, maxWait time.Duration) int64 {
	limit := int64(math.MaxInt64)
	if maxWait >= 0 && maxWait <= maxSpan>>tickShift {
		limit = int64(ticksOf(maxWait))
	}
	if dl, ok := ctx.Deadline(); ok {
		until := bclock.Until(clk, dl)
		if until <= 0 {
			return 0
		}
		if until <= maxSpan>>tickShift {
			limit = min(limit, int64(ticksOf(until))-1)
		}
	}
	return limit
}
