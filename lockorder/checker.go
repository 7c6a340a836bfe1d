package lockorder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-go/bulwark"
)

// Defaults of [CheckerConfig].
const (
	DefaultLongWait = 10 * time.Second
	DefaultMaxPairs = 10_000
)

// ErrInversion matches every *[InversionError] with errors.Is.
var ErrInversion = errors.New("lockorder: lock order inversion")

// ErrLongWait matches every *[LongWaitError] with errors.Is.
var ErrLongWait = errors.New("lockorder: long lock wait")

// CheckerConfig configures the lock-order checker. The zero value is valid.
type CheckerConfig struct {
	// OnInversion is called with each inversion, on the goroutine about to
	// take the lock, before it waits for it. Default: none.
	OnInversion func(*InversionError)
	// LongWait is how long a goroutine may wait for a Mutex or RWMutex
	// before the wait is reported (once per wait; the wait goes on).
	// Negative turns the report off. Default: DefaultLongWait (10s).
	LongWait time.Duration
	// OnLongWait is called with each long wait, on the waiting goroutine.
	// Default: none.
	OnLongWait func(*LongWaitError)
	// Logger gets an error-level record per report, with the stacks. To
	// silence it, set slog.New(slog.DiscardHandler). Default: slog.Default().
	Logger *slog.Logger
	// Observer gets a [KindInversion] or [KindLongWait] event per
	// report, with Policy "lockorder" and Name the lock's name. Default: none.
	Observer bulwark.Observer
	// MaxPairs bounds the memory of the checker: it remembers each ordered
	// pair of locks it has seen, with two stacks (a few KiB). Past MaxPairs
	// new pairs are not recorded (and one warning is logged), so inversions
	// among them go unseen. Default: DefaultMaxPairs (10,000).
	MaxPairs int
}

// Order is one "First, then Then" acquisition seen by the checker: Then was
// locked by goroutine Goroutine while it held First.
type Order struct {
	First, Then string // the locks' names
	Goroutine   int64
	Stack       []byte // where Then was locked
	FirstStack  []byte // where First had been locked
}

// InversionError reports that a goroutine is about to lock Lock while it
// holds Held, although Lock has been held while Held was locked before
// (directly, or through a chain of other locks): two goroutines doing both
// can deadlock. It is reported the first time the second order appears,
// whether or not a deadlock happens.
type InversionError struct {
	Lock      string // the lock being locked now
	Held      string // the lock held meanwhile
	Goroutine int64  // the goroutine doing it
	Stack     []byte // its stack now
	HeldStack []byte // its stack when it locked Held
	// Earlier is the order seen before, from Lock to Held: Earlier[0].First
	// is Lock and the last Then is Held. Its length is 1 for a plain A-B/B-A
	// inversion, more when the cycle goes through other locks.
	Earlier []Order

	unnamed bool // Lock has no Name
}

// Error describes the inversion in one line; the stacks are in the fields.
func (e *InversionError) Error() string {
	chain := make([]string, 0, len(e.Earlier)+1)
	for _, o := range e.Earlier {
		chain = append(chain, fmt.Sprintf("%q", o.First))
	}
	chain = append(chain, fmt.Sprintf("%q", e.Held))
	return fmt.Sprintf("lockorder: lock order inversion: goroutine %d locks %q while holding %q, but earlier %s were locked in that order",
		e.Goroutine, e.Lock, e.Held, strings.Join(chain, " then "))
}

// Is reports whether target is [ErrInversion].
func (e *InversionError) Is(target error) bool { return target == ErrInversion }

// Holder is a goroutine that holds a lock.
type Holder struct {
	Goroutine int64
	Shared    bool      // a read lock of an RWMutex
	Since     time.Time // when it got the lock
	Stack     []byte    // its stack then
}

// LongWaitError reports a goroutine that has waited CheckerConfig.LongWait
// for a lock, with the goroutines holding it.
type LongWaitError struct {
	Lock      string
	Waited    time.Duration
	Goroutine int64    // the waiting goroutine
	Stack     []byte   // its stack
	Holders   []Holder // empty if the lock was taken while the checker was off

	unnamed bool // Lock has no Name
}

// Error describes the wait in one line; the stacks are in the fields.
func (e *LongWaitError) Error() string {
	held := "by no goroutine the checker knows of"
	if len(e.Holders) > 0 {
		ids := make([]string, len(e.Holders))
		for i, h := range e.Holders {
			ids[i] = fmt.Sprint(h.Goroutine)
		}
		held = "by goroutine " + strings.Join(ids, ", ")
	}
	return fmt.Sprintf("lockorder: goroutine %d has waited %v for %q, held %s", e.Goroutine, e.Waited, e.Lock, held)
}

// Is reports whether target is [ErrLongWait].
func (e *LongWaitError) Is(target error) bool { return target == ErrLongWait }

// Stats is the checker's state.
type Stats struct {
	Enabled    bool   // checking is on (EnableChecker or the build tag)
	Pairs      int    // ordered pairs of locks recorded
	Full       bool   // MaxPairs was reached
	Held       int    // lock acquisitions held now
	Inversions uint64 // inversions reported
	LongWaits  uint64 // long waits reported
}

// acquisition is one lock taken (or about to be taken) with the checker on.
type acquisition struct {
	lock    uint64
	name    string
	unnamed bool // name is the "Mutex#<ID>" made up for a lock without a Name
	shared  bool
	goid    int64
	stack   []byte
	since   time.Time
}

type checker struct {
	mu         sync.Mutex
	cfg        CheckerConfig                // resolved
	held       map[int64][]*acquisition     // by goroutine, in locking order
	holders    map[uint64][]*acquisition    // by lock
	after      map[uint64]map[uint64]*Order // after[a][b]: b locked while a held
	pairs      int
	full       bool
	inversions uint64
	longWaits  uint64
}

var (
	enabled   uint32       // 1 when EnableChecker is in force; sync/atomic functions only
	longWait  atomic.Int64 // the resolved CheckerConfig.LongWait
	chk       checker
	checkerMu sync.Mutex // serialises EnableChecker and DisableChecker
)

func init() { chk.reset(resolve(CheckerConfig{})) }

// checking reports whether the checker is on: one atomic load, or a
// constant under the lockorder_check build tag.
func checking() bool { return BuildChecked || atomic.LoadUint32(&enabled) != 0 }

func resolve(cfg CheckerConfig) CheckerConfig {
	if cfg.LongWait == 0 {
		cfg.LongWait = DefaultLongWait
	}
	if cfg.MaxPairs == 0 {
		cfg.MaxPairs = DefaultMaxPairs
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (c *checker) reset(cfg CheckerConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg
	c.held = map[int64][]*acquisition{}
	c.holders = map[uint64][]*acquisition{}
	c.after = map[uint64]map[uint64]*Order{}
	c.pairs, c.full, c.inversions, c.longWaits = 0, false, 0, 0
	longWait.Store(int64(cfg.LongWait))
}

// EnableChecker turns the lock-order checker on with cfg, starting from an
// empty record. From then on every Mutex and RWMutex records, for each
// goroutine, which locks it holds when it takes another ("A before B"),
// and reports an inversion the first time it sees one, before any
// deadlock; it also reports waits longer than cfg.LongWait with the stacks
// of the goroutines holding the lock.
//
// Checking costs a stack capture per lock and unlock (microseconds): turn it
// on in tests, in staging, or on a canary. With the checker off, a lock
// pays one atomic load for it. Locks taken before the call are not known to
// be held. Building with -tags lockorder_check turns the checker on from
// the start, with the default config, until EnableChecker changes it.
//
// EnableChecker returns an error naming the field if cfg is invalid.
func EnableChecker(cfg CheckerConfig) error {
	if cfg.MaxPairs < 0 {
		return fmt.Errorf("lockorder: CheckerConfig.MaxPairs is negative (%d)", cfg.MaxPairs)
	}
	checkerMu.Lock()
	defer checkerMu.Unlock()
	chk.reset(resolve(cfg))
	atomic.StoreUint32(&enabled, 1)
	return nil
}

// DisableChecker turns the checker off and forgets what it recorded. Under
// the lockorder_check build tag the checker stays on, with the default
// config and an empty record.
func DisableChecker() {
	checkerMu.Lock()
	defer checkerMu.Unlock()
	atomic.StoreUint32(&enabled, 0)
	chk.reset(resolve(CheckerConfig{}))
}

// CheckerStats returns the checker's figures.
func CheckerStats() Stats {
	c := &chk
	c.mu.Lock()
	defer c.mu.Unlock()
	held := 0
	for _, l := range c.holders {
		held += len(l)
	}
	return Stats{Enabled: checking(), Pairs: c.pairs, Full: c.full, Held: held,
		Inversions: c.inversions, LongWaits: c.longWaits}
}

// beforeAcquire records that the calling goroutine is about to lock id
// (try: without waiting, which orders nothing), reports any inversion this
// creates, and returns the acquisition for acquired.
func beforeAcquire(id uint64, name string, unnamed, shared, try bool) *acquisition {
	stack, goid := callerStack()
	a := &acquisition{lock: id, name: name, unnamed: unnamed, shared: shared, goid: goid, stack: stack}
	if try {
		return a
	}
	c := &chk
	var found []*InversionError
	warnFull := false
	c.mu.Lock()
	cfg := c.cfg
	for _, h := range c.held[goid] {
		if h.lock == id {
			continue // locked again: not an order between two locks
		}
		if _, ok := c.after[h.lock][id]; ok {
			continue // seen before, and reported then if it was wrong
		}
		if c.pairs >= cfg.MaxPairs {
			if !c.full {
				warnFull, c.full = true, true
			}
			continue
		}
		if earlier := c.path(id, h.lock); earlier != nil {
			found = append(found, &InversionError{Lock: name, Held: h.name, Goroutine: goid,
				Stack: stack, HeldStack: h.stack, Earlier: earlier, unnamed: unnamed})
			c.inversions++
		}
		next := c.after[h.lock]
		if next == nil {
			next = map[uint64]*Order{}
			c.after[h.lock] = next
		}
		next[id] = &Order{First: h.name, Then: name, Goroutine: goid, Stack: stack, FirstStack: h.stack}
		c.pairs++
	}
	c.mu.Unlock()

	if warnFull {
		cfg.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"lockorder: the checker has recorded CheckerConfig.MaxPairs lock pairs and records no more",
			slog.Int("max_pairs", cfg.MaxPairs))
	}
	for _, e := range found {
		reportInversion(cfg, e)
	}
	return a
}

// path returns the recorded orders leading from lock from to lock to, or
// nil if there is no such chain. The caller holds c.mu.
func (c *checker) path(from, to uint64) []Order {
	prev := map[uint64]*Order{from: nil}
	prevLock := map[uint64]uint64{}
	queue := []uint64{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for next, o := range c.after[cur] {
			if _, seen := prev[next]; seen {
				continue
			}
			prev[next], prevLock[next] = o, cur
			if next == to {
				var out []Order
				for l := to; l != from; l = prevLock[l] {
					out = append(out, *prev[l])
				}
				for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
					out[i], out[j] = out[j], out[i]
				}
				return out
			}
			queue = append(queue, next)
		}
	}
	return nil
}

// acquired records that a's lock is now held.
func acquired(a *acquisition) {
	c := &chk
	c.mu.Lock()
	a.since = time.Now()
	c.held[a.goid] = append(c.held[a.goid], a)
	c.holders[a.lock] = append(c.holders[a.lock], a)
	c.mu.Unlock()
}

// released forgets one hold of lock id: the exclusive one, or for a read
// lock preferably the calling goroutine's.
func released(id uint64, shared bool) {
	var goid int64
	if shared {
		goid = currentGoid()
	}
	c := &chk
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.holders[id]
	if len(list) == 0 {
		return // locked while the checker was off
	}
	i := 0
	if shared {
		for j, a := range list {
			if a.goid == goid {
				i = j
				break
			}
		}
	}
	a := list[i]
	if list = deleteAt(list, i); len(list) == 0 {
		delete(c.holders, id)
	} else {
		c.holders[id] = list
	}
	held := c.held[a.goid]
	for j := len(held) - 1; j >= 0; j-- {
		if held[j] == a {
			held = deleteAt(held, j)
			break
		}
	}
	if len(held) == 0 {
		delete(c.held, a.goid)
	} else {
		c.held[a.goid] = held
	}
}

func deleteAt(list []*acquisition, i int) []*acquisition {
	copy(list[i:], list[i+1:])
	list[len(list)-1] = nil
	return list[:len(list)-1]
}

// longWaitThreshold returns the configured long-wait threshold, or a value
// <= 0 when the report is off.
func longWaitThreshold() time.Duration { return time.Duration(longWait.Load()) }

// reportLongWait reports that the goroutine of a has waited the threshold
// for a's lock.
func reportLongWait(a *acquisition) {
	c := &chk
	c.mu.Lock()
	cfg := c.cfg
	holders := make([]Holder, 0, len(c.holders[a.lock]))
	for _, h := range c.holders[a.lock] {
		holders = append(holders, Holder{Goroutine: h.goid, Shared: h.shared, Since: h.since, Stack: h.stack})
	}
	c.longWaits++
	c.mu.Unlock()

	e := &LongWaitError{Lock: a.name, Waited: cfg.LongWait, Goroutine: a.goid, Stack: a.stack, Holders: holders, unnamed: a.unnamed}
	attrs := []slog.Attr{slog.String("lock", e.Lock), slog.Duration("waited", e.Waited),
		slog.Int64("goroutine", e.Goroutine), slog.String("stack", string(e.Stack))}
	var holderStack []byte
	if len(holders) > 0 {
		holderStack = holders[0].Stack
		attrs = append(attrs, slog.Int64("holder", holders[0].Goroutine),
			slog.String("holder_stack", string(holderStack)))
	}
	cfg.Logger.LogAttrs(context.Background(), slog.LevelError, e.Error(), attrs...)
	if cfg.Observer != nil {
		cfg.Observer.Observe(bulwark.Event{Kind: KindLongWait, Policy: "lockorder", Name: eventName(e.Lock, e.unnamed),
			Delay: e.Waited, Err: e, Stack: holderStack})
	}
	if cfg.OnLongWait != nil {
		cfg.OnLongWait(e)
	}
}

// UnnamedLock is the name the checker's events give the Observer for a
// lock whose Name is empty. Reports and errors call such a lock
// "Mutex#<ID>" or "RWMutex#<ID>", which tells it apart within a report; an
// event's Name becomes a metric label, where a number given in the order
// locks are first used would make a new series on each run (and one per
// lock made), so every unnamed lock shares this one. Name the locks whose
// reports you want to count apart.
const UnnamedLock = "unnamed"

// eventName is the Name of an Observer event about lock.
func eventName(lock string, unnamed bool) string {
	if unnamed {
		return UnnamedLock
	}
	return lock
}

func reportInversion(cfg CheckerConfig, e *InversionError) {
	cfg.Logger.LogAttrs(context.Background(), slog.LevelError, e.Error(),
		slog.String("lock", e.Lock), slog.String("held", e.Held), slog.Int64("goroutine", e.Goroutine),
		slog.String("stack", string(e.Stack)),
		slog.String("earlier_stack", string(e.Earlier[0].Stack)))
	if cfg.Observer != nil {
		cfg.Observer.Observe(bulwark.Event{Kind: KindInversion, Policy: "lockorder", Name: eventName(e.Lock, e.unnamed),
			Err: e, Stack: e.Stack})
	}
	if cfg.OnInversion != nil {
		cfg.OnInversion(e)
	}
}
