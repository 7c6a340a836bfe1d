package slogobserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/lockorder"
)

// DefaultLevels returns the level of each kind of event unless
// Config.Levels says otherwise: a new map on each call, the caller's to
// change. The levels:
//
//	Warn   state changes, lock waits past the threshold
//	Error  recovered panics and lock-order inversions, with the stack
//	Info   rejections, exhausted retries, refused retry budgets, timeouts,
//	       fallbacks served, adaptive limit changes
//	Debug  retries, calls, waits, hedges
//
// A kind another package registered with bulwark.NewKind and not in the map
// is logged at Info.
func DefaultLevels() map[bulwark.Kind]slog.Level {
	return map[bulwark.Kind]slog.Level{
		bulwark.KindCall:            slog.LevelDebug,
		bulwark.KindRejected:        slog.LevelInfo,
		bulwark.KindStateChange:     slog.LevelWarn,
		bulwark.KindRetry:           slog.LevelDebug,
		bulwark.KindExhausted:       slog.LevelInfo,
		bulwark.KindBudgetExhausted: slog.LevelInfo,
		bulwark.KindTimeout:         slog.LevelInfo,
		bulwark.KindFallback:        slog.LevelInfo,
		bulwark.KindHedge:           slog.LevelDebug,
		bulwark.KindHedgeWon:        slog.LevelDebug,
		bulwark.KindPanic:           slog.LevelError,
		lockorder.KindInversion:     slog.LevelError,
		lockorder.KindLongWait:      slog.LevelWarn,
		bulwark.KindWait:            slog.LevelDebug,
		bulwark.KindLimitChange:     slog.LevelInfo,
	}
}

// messages are the record messages by kind. A kind with none (one another
// package registered) is logged as "bulwark: event" with a kind attribute.
var messages = map[bulwark.Kind]string{
	bulwark.KindCall:            "bulwark: call finished",
	bulwark.KindRejected:        "bulwark: call rejected",
	bulwark.KindStateChange:     "bulwark: state changed",
	bulwark.KindRetry:           "bulwark: retrying",
	bulwark.KindExhausted:       "bulwark: retries exhausted",
	bulwark.KindBudgetExhausted: "bulwark: retry budget exhausted",
	bulwark.KindTimeout:         "bulwark: call timed out",
	bulwark.KindFallback:        "bulwark: fallback served",
	bulwark.KindHedge:           "bulwark: hedge started",
	bulwark.KindHedgeWon:        "bulwark: hedge won",
	bulwark.KindPanic:           "bulwark: panic recovered",
	lockorder.KindInversion:     "bulwark: lock-order inversion",
	lockorder.KindLongWait:      "bulwark: long lock wait",
	bulwark.KindWait:            "bulwark: call waited",
	bulwark.KindLimitChange:     "bulwark: limit changed",
}

// Off, as the level of a kind of event in Config.Levels, silences that kind
// whatever the logger's level.
const Off slog.Level = math.MinInt

// Config configures [New]. The zero value is valid.
type Config struct {
	// Logger receives the records. If nil, slog.Default() is used, looked
	// up at each event so that a later slog.SetDefault takes effect.
	Logger *slog.Logger

	// Levels sets the level of the kinds of events it names; the others
	// keep their DefaultLevels(). A kind given the level [Off] is not logged.
	Levels map[bulwark.Kind]slog.Level
}

// ErrConfig is returned, wrapped, by [New] for an invalid Config.
var ErrConfig = errors.New("slogobserver: invalid config")

// Observer logs each event it observes. It is safe for concurrent use.
type Observer struct {
	logger *slog.Logger
	levels [math.MaxUint8 + 1]slog.Level // by Kind
	msgs   [math.MaxUint8 + 1]string     // by Kind; "" for "bulwark: event"
}

// New returns an Observer that logs to cfg.Logger.
func New(cfg Config) (*Observer, error) {
	o := &Observer{logger: cfg.Logger}
	for k := range o.levels {
		o.levels[k] = slog.LevelInfo
	}
	for k, l := range DefaultLevels() {
		o.levels[k] = l
	}
	for k, m := range messages {
		o.msgs[k] = m
	}
	for k, l := range cfg.Levels {
		if k == 0 || k.String() == "unknown" {
			return nil, fmt.Errorf("%w: Levels names kind %d, which is neither a bulwark.Kind nor one registered with bulwark.NewKind", ErrConfig, k)
		}
		o.levels[k] = l
	}
	return o, nil
}

// Observe logs e at the level of its kind. Events of a kind bulwark does not
// define (one another package registered with bulwark.NewKind, or none) are
// logged at Info unless Config.Levels says otherwise.
func (o *Observer) Observe(e bulwark.Event) {
	logger := o.logger
	if logger == nil {
		logger = slog.Default()
	}
	level, msg := o.levels[e.Kind], o.msgs[e.Kind]
	if msg == "" {
		msg = "bulwark: event"
	}
	ctx := context.Background()
	if level == Off || !logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("policy", e.Policy), slog.String("name", e.Name))
	if msg == "bulwark: event" {
		attrs = append(attrs, slog.String("kind", e.Kind.String()))
	}
	if e.From != "" || e.To != "" {
		attrs = append(attrs, slog.String("from", e.From), slog.String("to", e.To))
	}
	if e.Outcome != 0 {
		attrs = append(attrs, slog.String("outcome", e.Outcome.String()))
	}
	if e.Slow {
		attrs = append(attrs, slog.Bool("slow", true))
	}
	if e.Attempt != 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Delay != 0 {
		attrs = append(attrs, slog.Duration("delay", e.Delay))
	}
	if e.Duration != 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	if len(e.Stack) > 0 {
		attrs = append(attrs, slog.String("stack", string(e.Stack)))
	}
	logger.LogAttrs(ctx, level, msg, attrs...)
}
