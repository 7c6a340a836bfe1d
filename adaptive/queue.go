package adaptive

import (
	"context"
	"errors"
	"time"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/clock"
)

// waiter is a call waiting in the queue.
type waiter struct {
	ch    chan struct{} // signalled once, when state leaves waiting
	level int
	state waiterState // guarded by Limiter.mu
	start int64       // when it was admitted, since epoch
	seq   uint64      // its sequence number among admissions
}

type waiterState uint8

const (
	waiting waiterState = iota
	granted
	evicted
)

// waitingAtOrAbove reports whether a call of level lv or more important is
// queued, so that a newcomer of level lv must not overtake it. l.mu is held.
func (l *Limiter) waitingAtOrAbove(lv int) bool {
	if l.queued == 0 {
		return false
	}
	for i := lv; i < levels; i++ {
		if len(l.queue[i]) > 0 {
			return true
		}
	}
	return false
}

// hasLower reports whether a call less important than level lv is queued.
// l.mu is held.
func (l *Limiter) hasLower(lv int) bool {
	for i := range lv {
		if len(l.queue[i]) > 0 {
			return true
		}
	}
	return false
}

// wait queues a call and waits for a place. l.mu is held on entry and
// released.
func (l *Limiter) wait(ctx context.Context, p Priority, since int64) (Token, error) {
	lv := p.level()
	var victim *waiter
	if l.queued >= l.queueSize {
		// Push out the newest waiter of the least important level.
		for i := range lv {
			if q := l.queue[i]; len(q) > 0 {
				victim = q[len(q)-1]
				l.queue[i] = q[:len(q)-1]
				l.queued--
				victim.state = evicted
				victim.ch <- struct{}{}
				break
			}
		}
	}
	w := &waiter{ch: make(chan struct{}, 1), level: lv}
	l.queue[lv] = append(l.queue[lv], w)
	l.queued++
	l.mu.Unlock()

	var timeout <-chan time.Time
	if l.maxWait > 0 {
		t := clock.NewTimer(l.clk, l.maxWait)
		defer t.Stop()
		timeout = t.C()
	}
	var ctxDone bool
	select {
	case <-w.ch:
	case <-timeout:
	case <-ctx.Done():
		ctxDone = true
	}

	l.mu.Lock()
	waited := time.Duration(l.now() - since)
	switch w.state {
	case granted:
		if ctxDone || ctx.Err() != nil {
			// Admitted as the caller gave up: give the place back unused.
			l.unclaimed++
			from := l.admit
			l.releaseLocked(w.seq, 0, outcomeIgnored, l.now())
			to := l.admit
			l.mu.Unlock()
			if l.observer != nil {
				l.limitChanged(from, to)
			}
			return Token{}, ctx.Err()
		}
		l.mu.Unlock()
		tok := Token{l: l, start: w.start, seq: w.seq}
		waited = time.Duration(w.start - since)
		if l.observer != nil {
			l.observer.Observe(bulwark.Event{Kind: bulwark.KindWait, Policy: "adaptive", Name: l.name, Delay: waited})
		}
		return tok, nil
	case evicted:
		err := l.overloaded(p, waited)
		l.mu.Unlock()
		l.reportShed(err)
		return Token{}, err
	}
	l.remove(w)
	if ctxDone {
		l.mu.Unlock()
		return Token{}, ctx.Err()
	}
	err := l.overloaded(p, waited)
	l.mu.Unlock()
	l.reportShed(err)
	return Token{}, err
}

// remove takes a waiter out of the queue. l.mu is held.
func (l *Limiter) remove(w *waiter) {
	q := l.queue[w.level]
	for i, x := range q {
		if x == w {
			copy(q[i:], q[i+1:])
			q[len(q)-1] = nil
			l.queue[w.level] = q[:len(q)-1]
			l.queued--
			return
		}
	}
}

// dispatch admits queued calls while the limit allows, most important
// first. l.mu is held.
func (l *Limiter) dispatch(now int64) {
	for l.queued > 0 {
		lv := levels - 1
		for len(l.queue[lv]) == 0 {
			lv--
		}
		if l.inFlight >= allowance(lv, l.admit) {
			return // less important levels are allowed less
		}
		q := l.queue[lv]
		w := q[0]
		copy(q, q[1:])
		q[len(q)-1] = nil
		l.queue[lv] = q[:len(q)-1]
		l.queued--
		l.take()
		w.state, w.start, w.seq = granted, now, l.admitted
		w.ch <- struct{}{}
	}
}

func isCanceled(err error) bool { return errors.Is(err, context.Canceled) }

func isDropped(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrOverloaded)
}
