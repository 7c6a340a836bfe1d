package feature

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default values of [Config] fields.
const (
	DefaultInterval  = 5 * time.Second
	DefaultEnvPrefix = "BULWARK_FLAG_"
)

// Config configures [New]. Only Path is required.
type Config struct {
	// Name identifies this flag source in logs and in [Snapshot].
	// Default: "feature".
	Name string
	// Path is the flag file. Required.
	Path string
	// Decode turns the file's bytes into a [File]. A decoder that finds
	// problems it can step over returns the File with them (as
	// *ValidationErrors, joined), and they are reported with Compile's.
	// Default: [DecodeJSON].
	// The featureyaml package supplies a YAML decoder and picks one by the
	// file's extension.
	Decode func(data []byte) (*File, error)
	// Interval is how often [Flags.Watch] looks at the file.
	// Default: [DefaultInterval] (5s). Negative is an error.
	Interval time.Duration
	// EnvPrefix is the prefix of environment overrides: a flag named
	// "new-checkout" is overridden by <EnvPrefix>NEW_CHECKOUT. Default:
	// [DefaultEnvPrefix] ("BULWARK_FLAG_").
	EnvPrefix string
	// DisableEnv turns environment overrides off.
	DisableEnv bool
	// Environ returns the environment as "KEY=value" strings. It is read
	// on every load. Default: os.Environ.
	Environ func() []string
	// Logger receives rejected files, a missing file and unknown override
	// variables. Default: slog.Default().
	Logger *slog.Logger
}

// Change describes an accepted flag set that differs from the one before.
type Change struct {
	Old, New *Set
	// Changed names the flags that were added, removed or modified,
	// sorted. A change of the global kill switch names every flag.
	Changed []string
}

// Snapshot holds the live figures of a [Flags].
type Snapshot struct {
	Name     string
	Path     string
	Flags    int       // flags in force
	Version  uint64    // the version of the set in force (counts accepted loads)
	Rejected uint64    // files rejected since New
	LastLoad time.Time // when the set in force was accepted
	// LastError is why the latest look at the file did not produce a new
	// set (a rejected file, a missing file); nil once a file is accepted.
	LastError error
	Missing   bool // the file was missing at the latest look
	Killed    bool // the global kill switch is on
}

// Flags serves feature flags from a file, reloading it when it changes.
//
// Evaluations read an immutable [Set] through an atomic pointer: they take
// no lock and do not allocate. A file that fails to load is rejected and
// logged, and the flags in force stay in force.
//
// Flags is safe for concurrent use.
type Flags struct {
	cur atomic.Pointer[Set]

	name      string
	path      string
	decode    func([]byte) (*File, error)
	interval  time.Duration
	envPrefix string
	environ   func() []string
	log       *slog.Logger

	mu        sync.Mutex // serialises loads; guards the fields below
	seen      fileStamp  // the file as last looked at
	seenSum   [sha256.Size]byte
	seenErr   error // what loading the content of seenSum gave
	rejected  uint64
	lastLoad  time.Time
	lastErr   error
	missing   bool
	listeners []listener
	nextID    uint64
}

type fileStamp struct {
	size    int64
	modTime time.Time
}

func (a fileStamp) same(b fileStamp) bool { return a.size == b.size && a.modTime.Equal(b.modTime) }

type listener struct {
	id uint64
	fn func(Change)
}

// New loads the flag file and returns the flags, or an error naming what is
// wrong with the config or the file.
func New(cfg Config) (*Flags, error) {
	if cfg.Path == "" {
		return nil, errors.New("feature: Config.Path is required")
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("feature: Config.Interval is %v; it must not be negative", cfg.Interval)
	}
	f := &Flags{
		name:      cfg.Name,
		path:      cfg.Path,
		decode:    cfg.Decode,
		interval:  cfg.Interval,
		envPrefix: cfg.EnvPrefix,
		environ:   cfg.Environ,
		log:       cfg.Logger,
	}
	if f.name == "" {
		f.name = "feature"
	}
	if f.decode == nil {
		f.decode = DecodeJSON
	}
	if f.interval == 0 {
		f.interval = DefaultInterval
	}
	if f.envPrefix == "" {
		f.envPrefix = DefaultEnvPrefix
	}
	if f.environ == nil {
		f.environ = os.Environ
	}
	if cfg.DisableEnv {
		f.environ = nil
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	f.mu.Lock()
	_, err := f.loadLocked(true)
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Name returns Config.Name.
func (f *Flags) Name() string { return f.name }

// Current returns the flag set in force. Evaluate several flags against
// one Set to see a consistent view across a reload.
func (f *Flags) Current() *Set { return f.cur.Load() }

// Snapshot returns the live figures.
func (f *Flags) Snapshot() Snapshot {
	s := f.cur.Load()
	f.mu.Lock()
	defer f.mu.Unlock()
	return Snapshot{
		Name: f.name, Path: f.path, Flags: s.Len(), Version: s.version,
		Rejected: f.rejected, LastLoad: f.lastLoad, LastError: f.lastErr,
		Missing: f.missing, Killed: s.kill,
	}
}

// Subscribe registers fn to be called after each accepted change, on the
// goroutine that loaded it, with no lock held (fn may evaluate flags or
// call Reload). Changes that do not alter any flag are not reported. If two
// loads race, their calls may arrive out of order; Change.New.Version()
// tells which is newer. The returned function unsubscribes; it may be
// called more than once.
func (f *Flags) Subscribe(fn func(Change)) (cancel func()) {
	if fn == nil {
		panic("feature: Subscribe with a nil function")
	}
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	f.listeners = append(f.listeners, listener{id: id, fn: fn})
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.listeners = slices.DeleteFunc(f.listeners, func(l listener) bool { return l.id == id })
		f.mu.Unlock()
	}
}

// Reload reads the file and the environment now, whether or not the file
// changed. On error (a missing, unreadable, undecodable or invalid file, a
// bad override) the flags in force stay in force, the error is logged and
// returned as a *[LoadError].
func (f *Flags) Reload() error {
	f.mu.Lock()
	ch, err := f.loadLocked(true)
	ls := f.listenersLocked(ch)
	f.mu.Unlock()
	notify(ls, ch)
	return err
}

// Watch looks at the file every Config.Interval until ctx is done, and
// loads it when its size, modification time and content changed. It
// returns ctx.Err(). Run it on a goroutine of your own:
//
//	go flags.Watch(ctx)
//
// A rejected file is logged once (not at every look) and the flags in
// force stay in force; so does a missing file, which is logged once until
// it comes back. The environment is read again only when the file changes.
func (f *Flags) Watch(ctx context.Context) error {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			f.poll()
		}
	}
}

// poll is one look at the file.
func (f *Flags) poll() {
	f.mu.Lock()
	ch, _ := f.loadLocked(false)
	ls := f.listenersLocked(ch)
	f.mu.Unlock()
	notify(ls, ch)
}

func (f *Flags) listenersLocked(ch *Change) []listener {
	if ch == nil || len(f.listeners) == 0 {
		return nil
	}
	return slices.Clone(f.listeners)
}

func notify(ls []listener, ch *Change) {
	for _, l := range ls {
		l.fn(*ch)
	}
}

// loadLocked loads the file. Unless force is set it returns early when the
// file looks unchanged. It returns the change, if any flag changed.
func (f *Flags) loadLocked(force bool) (*Change, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, f.failLocked(err, force)
	}
	stamp := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	if !force && !f.missing && stamp.same(f.seen) {
		return nil, nil
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, f.failLocked(err, force)
	}
	sum := sha256.Sum256(data)
	wasMissing := f.missing
	f.missing = false
	f.seen = stamp
	if !force && sum == f.seenSum && f.cur.Load() != nil {
		if wasMissing {
			f.log.Info("feature: flag file is back, unchanged", "name", f.name, "path", f.path)
			f.lastErr = f.seenErr
		}
		return nil, nil // touched, or back with the content already judged
	}
	f.seenSum = sum
	set, err := f.build(data)
	if err != nil {
		f.rejected++
		f.lastErr = &LoadError{Path: f.path, Err: err}
		f.seenErr = f.lastErr
		f.log.Error("feature: rejected flag file; the flags in force stay in force",
			"name", f.name, "path", f.path, "err", err)
		return nil, f.lastErr
	}
	old := f.cur.Load()
	set.version = 1
	if old != nil {
		set.version = old.version + 1
	}
	f.cur.Store(set)
	f.lastLoad = time.Now()
	f.lastErr = nil
	f.seenErr = nil
	if old == nil {
		return nil, nil
	}
	if changed := diff(old, set); len(changed) > 0 {
		return &Change{Old: old, New: set, Changed: changed}, nil
	}
	return nil, nil
}

// failLocked records a file that could not be read.
func (f *Flags) failLocked(err error, force bool) error {
	lerr := &LoadError{Path: f.path, Err: err}
	missing := errors.Is(err, fs.ErrNotExist)
	if force || f.lastErr == nil || f.lastErr.Error() != lerr.Error() {
		if missing {
			f.log.Error("feature: flag file is missing; the flags in force stay in force",
				"name", f.name, "path", f.path)
		} else {
			f.log.Error("feature: cannot read flag file; the flags in force stay in force",
				"name", f.name, "path", f.path, "err", err)
		}
	}
	f.missing = missing
	f.lastErr = lerr
	return lerr
}

// build decodes and compiles data with the environment's overrides.
func (f *Flags) build(data []byte) (*Set, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("the file is empty")
	}
	file, decErr := f.decode(data)
	if file == nil {
		if decErr != nil {
			return nil, decErr
		}
		return nil, errors.New("the decoder returned no file")
	}
	env, unknown, err := f.overrides(file)
	if err != nil {
		return nil, err
	}
	set, err := compileDecoded(file, decErr, env)
	if err != nil {
		return nil, err
	}
	for _, v := range unknown {
		f.log.Warn("feature: environment variable names no flag; ignored",
			"name", f.name, "variable", v)
	}
	return set, nil
}

// EnvName returns the environment variable that overrides the flag name
// under prefix: the name in upper case, with every byte other than a
// letter or a digit replaced by '_'. EnvName("BULWARK_FLAG_", "new-checkout")
// is "BULWARK_FLAG_NEW_CHECKOUT".
func EnvName(prefix, name string) string {
	b := make([]byte, 0, len(prefix)+len(name))
	b = append(b, prefix...)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			c = '_'
		}
		b = append(b, c)
	}
	return string(b)
}

// overrides collects the environment overrides for file's flags. Two flags
// that map to the same variable are an error; variables with the prefix
// that name no flag are returned to be logged.
func (f *Flags) overrides(file *File) (envOverrides, []string, error) {
	if f.environ == nil {
		return nil, nil, nil
	}
	vars := map[string]string{}
	for _, kv := range f.environ() {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, f.envPrefix) {
			vars[k] = v
		}
	}
	byVar := map[string]string{}
	env := envOverrides{}
	for _, sp := range file.Flags {
		if sp.Name == "" {
			continue
		}
		v := EnvName(f.envPrefix, sp.Name)
		if other, ok := byVar[v]; ok && other != sp.Name {
			return nil, nil, &ValidationError{Flag: sp.Name, Index: -1, Field: "name",
				Msg: fmt.Sprintf("flags %q and %q both map to environment variable %s; rename one", other, sp.Name, v)}
		}
		byVar[v] = sp.Name
		if raw, ok := vars[v]; ok {
			env[sp.Name] = envValue{variable: v, raw: raw}
		}
	}
	var unknown []string
	for k := range vars {
		if _, ok := byVar[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return env, unknown, nil
}

// diff names the flags that differ between two sets.
func diff(old, cur *Set) []string {
	var out []string
	for _, n := range cur.names {
		o := old.flags[n]
		if o == nil || old.kill != cur.kill || !o.equal(cur.flags[n]) {
			out = append(out, n)
		}
	}
	for _, n := range old.names {
		if cur.flags[n] == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Evaluate evaluates the named flag for t in the set in force.
func (f *Flags) Evaluate(name string, t Target) Evaluation { return f.cur.Load().Evaluate(name, t) }

// Bool returns the named bool flag's value; see [Set.Bool].
func (f *Flags) Bool(name string, def bool) bool { return f.cur.Load().Bool(name, def) }

// BoolFor returns the named bool flag's value for t; see [Set.BoolFor].
func (f *Flags) BoolFor(name string, t Target, def bool) bool {
	return f.cur.Load().BoolFor(name, t, def)
}

// String returns the named string flag's value; see [Set.String].
func (f *Flags) String(name string, def string) string { return f.cur.Load().String(name, def) }

// StringFor returns the named string flag's value for t; see [Set.StringFor].
func (f *Flags) StringFor(name string, t Target, def string) string {
	return f.cur.Load().StringFor(name, t, def)
}

// Float returns the named number flag's value; see [Set.Float].
func (f *Flags) Float(name string, def float64) float64 { return f.cur.Load().Float(name, def) }

// FloatFor returns the named number flag's value for t; see [Set.FloatFor].
func (f *Flags) FloatFor(name string, t Target, def float64) float64 {
	return f.cur.Load().FloatFor(name, t, def)
}
