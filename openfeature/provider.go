package openfeature

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/bulwark-go/bulwark/feature"
)

// DefaultName is the provider name reported in Metadata when Config.Name
// is empty.
const DefaultName = "bulwark"

// Config configures [New]. Set exactly one of Flags and Open.
type Config struct {
	// Flags serves the evaluations: flags the application already opened.
	Flags *feature.Flags
	// Open opens the flags when the SDK initialises the provider (for
	// example func() (*feature.Flags, error) { return featureyaml.New(cfg) }).
	// If it fails, Init fails and every evaluation until a later Init
	// succeeds returns the default with PARSE_ERROR (the file did not
	// decode or validate) or GENERAL (it could not be read).
	Open func() (*feature.Flags, error)
	// Watch, when true, runs Flags.Watch from Init to Shutdown, so the
	// provider reloads the file itself. Leave it false when the application
	// runs Watch.
	Watch bool
	// Name is the provider name in Metadata and in events.
	// Default: [DefaultName].
	Name string
}

// Provider is an OpenFeature provider backed by [feature.Flags]. It
// implements of.FeatureProvider, of.StateHandler and of.EventHandler: it
// emits PROVIDER_CONFIGURATION_CHANGED, with the names of the changed flags,
// each time the flags accept a change.
//
// Provider is safe for concurrent use.
type Provider struct {
	name  string
	open  func() (*feature.Flags, error)
	watch bool

	flags   atomic.Pointer[feature.Flags]
	openErr atomic.Pointer[error] // why the last Open failed
	events  chan of.Event

	mu          sync.Mutex // guards the fields below and serialises Init and Shutdown
	unsubscribe func()
	done        chan struct{} // closed by Shutdown: pending event sends give up
	stopWatch   context.CancelFunc
	watching    sync.WaitGroup
}

// Interfaces the provider implements.
var (
	_ of.FeatureProvider = (*Provider)(nil)
	_ of.StateHandler    = (*Provider)(nil)
	_ of.EventHandler    = (*Provider)(nil)
)

// New returns a provider, or an error naming what is wrong with cfg.
func New(cfg Config) (*Provider, error) {
	if (cfg.Flags == nil) == (cfg.Open == nil) {
		return nil, errors.New("openfeature: set exactly one of Config.Flags and Config.Open")
	}
	p := &Provider{name: cfg.Name, open: cfg.Open, watch: cfg.Watch, events: make(chan of.Event, 16)}
	if p.name == "" {
		p.name = DefaultName
	}
	if cfg.Flags != nil {
		p.flags.Store(cfg.Flags)
	}
	return p, nil
}

// Flags returns the flags in use; nil before a successful Init when
// Config.Open is used.
func (p *Provider) Flags() *feature.Flags { return p.flags.Load() }

// Metadata returns the provider's name.
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: p.name} }

// Hooks returns no hooks.
func (p *Provider) Hooks() []of.Hook { return nil }

// EventChannel returns the channel the provider's events are sent on.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init opens the flags (with Config.Open), starts watching the file (with
// Config.Watch) and starts reporting changes. Calling it again before
// Shutdown does nothing.
func (p *Provider) Init(of.EvaluationContext) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unsubscribe != nil {
		return nil
	}
	flags := p.flags.Load()
	if flags == nil {
		f, err := p.open()
		if err == nil && f == nil {
			err = errors.New("openfeature: Config.Open returned no flags and no error")
		}
		if err != nil {
			p.openErr.Store(&err)
			code := of.ParseErrorCode
			var pe *fs.PathError
			if errors.As(err, &pe) {
				code = of.GeneralCode
			}
			return &of.ProviderInitError{ErrorCode: code, Message: err.Error()}
		}
		p.openErr.Store(nil)
		p.flags.Store(f)
		flags = f
	}
	done := make(chan struct{})
	p.done = done
	p.unsubscribe = flags.Subscribe(func(c feature.Change) { p.emit(c, done) })
	if p.watch {
		ctx, cancel := context.WithCancel(context.Background())
		p.stopWatch = cancel
		p.watching.Go(func() { _ = flags.Watch(ctx) })
	}
	return nil
}

// Shutdown stops watching and reporting. The flags stay usable.
func (p *Provider) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unsubscribe == nil {
		return
	}
	p.unsubscribe()
	p.unsubscribe = nil
	close(p.done)
	if p.stopWatch != nil {
		p.stopWatch()
		p.stopWatch = nil
	}
	p.watching.Wait()
}

// emit sends a configuration-changed event. It runs on the goroutine that
// reloaded the flags and blocks while the SDK is behind, until Shutdown.
func (p *Provider) emit(c feature.Change, done <-chan struct{}) {
	ev := of.Event{
		ProviderName: p.name,
		EventType:    of.ProviderConfigChange,
		ProviderEventDetails: of.ProviderEventDetails{
			Message:       fmt.Sprintf("flags reloaded: version %d, %d changed", c.New.Version(), len(c.Changed)),
			FlagChanges:   c.Changed,
			EventMetadata: map[string]any{"version": int64(c.New.Version())},
		},
	}
	select {
	case p.events <- ev:
	case <-done:
	}
}

// BooleanEvaluation resolves a bool flag.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, def bool, fc of.FlattenedContext) of.BoolResolutionDetail {
	ev, d, ok := p.evaluate(flag, fc, feature.TypeBool)
	if !ok {
		return of.BoolResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return of.BoolResolutionDetail{Value: ev.Value.(bool), ProviderResolutionDetail: d}
}

// StringEvaluation resolves a string flag.
func (p *Provider) StringEvaluation(_ context.Context, flag string, def string, fc of.FlattenedContext) of.StringResolutionDetail {
	ev, d, ok := p.evaluate(flag, fc, feature.TypeString)
	if !ok {
		return of.StringResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return of.StringResolutionDetail{Value: ev.Value.(string), ProviderResolutionDetail: d}
}

// FloatEvaluation resolves a number flag.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, def float64, fc of.FlattenedContext) of.FloatResolutionDetail {
	ev, d, ok := p.evaluate(flag, fc, feature.TypeNumber)
	if !ok {
		return of.FloatResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return of.FloatResolutionDetail{Value: ev.Value.(float64), ProviderResolutionDetail: d}
}

// IntEvaluation resolves a number flag whose value is a whole number that
// fits an int64; any other value is a TYPE_MISMATCH.
func (p *Provider) IntEvaluation(_ context.Context, flag string, def int64, fc of.FlattenedContext) of.IntResolutionDetail {
	ev, d, ok := p.evaluate(flag, fc, feature.TypeNumber)
	if !ok {
		return of.IntResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	f := ev.Value.(float64)
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return of.IntResolutionDetail{Value: def, ProviderResolutionDetail: failure(
			of.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q has value %v, not an integer", flag, f)))}
	}
	return of.IntResolutionDetail{Value: int64(f), ProviderResolutionDetail: d}
}

// ObjectEvaluation resolves a flag of any type; the value is a bool, a
// string or a float64.
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, def any, fc of.FlattenedContext) of.InterfaceResolutionDetail {
	ev, d, ok := p.evaluate(flag, fc, 0)
	if !ok {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: d}
	}
	return of.InterfaceResolutionDetail{Value: ev.Value, ProviderResolutionDetail: d}
}

func failure(err of.ResolutionError) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{ResolutionError: err, Reason: of.ErrorReason}
}

// evaluate evaluates flag and maps the result; want 0 accepts any type.
func (p *Provider) evaluate(flag string, fc of.FlattenedContext, want feature.Type) (feature.Evaluation, of.ProviderResolutionDetail, bool) {
	flags := p.flags.Load()
	if flags == nil {
		if errp := p.openErr.Load(); errp != nil {
			var pe *fs.PathError
			if errors.As(*errp, &pe) {
				return feature.Evaluation{}, failure(of.NewGeneralResolutionError("flags could not be opened", *errp)), false
			}
			return feature.Evaluation{}, failure(of.NewParseErrorResolutionError("flag configuration could not be parsed", *errp)), false
		}
		return feature.Evaluation{}, failure(of.NewProviderNotReadyResolutionError("flags not opened yet")), false
	}
	ev := flags.Evaluate(flag, Target(fc))
	switch {
	case errors.Is(ev.Err, feature.ErrNotFound):
		return ev, failure(of.NewFlagNotFoundResolutionError(fmt.Sprintf("flag %q not found", flag))), false
	case errors.Is(ev.Err, feature.ErrMissingKey):
		return ev, failure(of.NewTargetingKeyMissingResolutionError(
			fmt.Sprintf("flag %q has a percentage rollout, which needs a targeting key", flag))), false
	case ev.Err != nil:
		return ev, failure(of.NewGeneralResolutionError(ev.Err.Error(), ev.Err)), false
	case want != 0 && ev.Type != want:
		return ev, failure(of.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q is a %v flag, not a %v", flag, ev.Type, want))), false
	}
	return ev, of.ProviderResolutionDetail{
		Reason:       reasons[ev.Reason],
		Variant:      ev.Variant,
		FlagMetadata: of.FlagMetadata{"type": ev.Type.String()},
	}, true
}

var reasons = map[feature.Reason]of.Reason{
	feature.ReasonStatic:         of.StaticReason,
	feature.ReasonSplit:          of.SplitReason,
	feature.ReasonTargetingMatch: of.TargetingMatchReason,
	feature.ReasonDisabled:       of.DisabledReason,
	feature.ReasonDefault:        of.DefaultReason,
	feature.ReasonError:          of.ErrorReason,
}

// Target maps an evaluation context to a feature.Target: the targeting
// key becomes Key and the other attributes become Attrs. Strings are taken
// as they are; bools, integers and floats are formatted with strconv;
// time.Time as RFC 3339; fmt.Stringers by their String method. Other
// values (lists, maps) are left out, so no rule can match them.
func Target(fc of.FlattenedContext) feature.Target {
	var t feature.Target
	for k, v := range fc {
		if k == of.TargetingKey {
			if s, ok := v.(string); ok {
				t.Key = s
				continue
			}
		}
		s, ok := attrString(v)
		if !ok {
			continue
		}
		if t.Attrs == nil {
			t.Attrs = make(map[string]string, len(fc))
		}
		t.Attrs[k] = s
	}
	return t
}

func attrString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case int:
		return strconv.Itoa(x), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	case fmt.Stringer:
		return x.String(), true
	}
	return "", false
}
