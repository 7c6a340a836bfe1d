package feature

// Target is who a flag is evaluated for. Key identifies the subject (a user
// id, a tenant, a device) and places it in a rollout; Attrs feed targeting
// rules. Both are optional. Evaluation only reads them.
type Target struct {
	Key   string
	Attrs map[string]string
}

// Reason says why an evaluation produced its value.
type Reason string

// The reasons, named as in OpenFeature.
const (
	// ReasonStatic: the flag has no rules and no rollout (or an
	// environment override forces it); everyone gets the same value.
	ReasonStatic Reason = "static"
	// ReasonSplit: a percentage rollout placed the target's key.
	ReasonSplit Reason = "split"
	// ReasonTargetingMatch: a targeting rule matched.
	ReasonTargetingMatch Reason = "targeting_match"
	// ReasonDisabled: the flag or the whole file is killed; the value is
	// the flag's off value.
	ReasonDisabled Reason = "disabled"
	// ReasonDefault: the flag has rules but none matched and there is no
	// rollout, so its value applies.
	ReasonDefault Reason = "default"
	// ReasonError: the flag could not be evaluated; Evaluation.Err says
	// why and the caller's default applies.
	ReasonError Reason = "error"
)

// Variant names. A rule's variant is its configured name or "rule-N".
const (
	VariantOn       = "on"       // the flag's value
	VariantOff      = "off"      // the flag's off value (killed, or outside the rollout)
	VariantOverride = "override" // the value of an environment override
)

// Evaluation is the detailed result of evaluating a flag.
type Evaluation struct {
	// Value is the flag's value: a bool, a string or a float64 according to
	// Type. It is nil when Err is set.
	Value any
	// Type is the flag's type; 0 when the flag does not exist.
	Type Type
	// Variant names the branch that produced Value: [VariantOn],
	// [VariantOff], [VariantOverride] or a rule's variant.
	Variant string
	// Reason says why.
	Reason Reason
	// Err is a *[EvalError] wrapping [ErrNotFound] or [ErrMissingKey].
	Err error
}

// resolve picks the branch of fl that applies to t. It returns nil when a
// partial rollout needs a key that t lacks.
func (fl *flag) resolve(killAll bool, t *Target) (*value, string, Reason) {
	if killAll || fl.kill {
		return &fl.off, VariantOff, ReasonDisabled
	}
	if fl.override != nil {
		return fl.override, VariantOverride, ReasonStatic
	}
	if len(fl.rules) > 0 && len(t.Attrs) > 0 {
		for i := range fl.rules {
			r := &fl.rules[i]
			if r.match(t.Attrs) {
				return &r.val, r.variant, ReasonTargetingMatch
			}
		}
	}
	if fl.hasRollout {
		switch fl.threshold {
		case 0:
			return &fl.off, VariantOff, ReasonSplit
		case 1 << 32:
			return &fl.on, VariantOn, ReasonSplit
		}
		if t.Key == "" {
			return nil, "", ReasonError
		}
		if bucket(fl.name, t.Key) < fl.threshold {
			return &fl.on, VariantOn, ReasonSplit
		}
		return &fl.off, VariantOff, ReasonSplit
	}
	if len(fl.rules) > 0 {
		return &fl.on, VariantOn, ReasonDefault
	}
	return &fl.on, VariantOn, ReasonStatic
}

// bucket hashes the flag name and the key with 64-bit FNV-1a, mixes the
// result (FNV's high bits are weak for keys that differ in their last
// bytes) and returns its top 32 bits. Hashing the flag name in makes
// rollouts of different flags independent.
func bucket(name, key string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= prime
	}
	h ^= 0xff // a separator that no name contains
	h *= prime
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	// The finaliser of MurmurHash3.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h >> 32
}

// InRollout reports whether key falls inside a rollout of percent percent
// of flag name: the test that a flag with that rollout applies. It is
// exported so that tools can show who is in a rollout.
func InRollout(name, key string, percent float64) bool {
	return bucket(name, key) < threshold(percent)
}

// Evaluate evaluates the named flag for t and says how.
func (s *Set) Evaluate(name string, t Target) Evaluation {
	fl := s.flags[name]
	if fl == nil {
		return Evaluation{Reason: ReasonError, Err: &EvalError{Flag: name, Err: ErrNotFound}}
	}
	v, variant, reason := fl.resolve(s.kill, &t)
	if v == nil {
		return Evaluation{Type: fl.typ, Reason: ReasonError, Err: &EvalError{Flag: name, Err: ErrMissingKey}}
	}
	return Evaluation{Value: v.any, Type: fl.typ, Variant: variant, Reason: reason}
}

var noTarget Target

func (s *Set) lookup(name string, typ Type, t *Target) *value {
	fl := s.flags[name]
	if fl == nil || fl.typ != typ {
		return nil
	}
	v, _, _ := fl.resolve(s.kill, t)
	return v
}

// Bool returns the value of the named bool flag for no particular target,
// or def if there is no such bool flag or it has a partial rollout (which
// needs a key).
func (s *Set) Bool(name string, def bool) bool {
	if v := s.lookup(name, TypeBool, &noTarget); v != nil {
		return v.b
	}
	return def
}

// BoolFor returns the value of the named bool flag for t, or def if there
// is no such bool flag or it cannot be evaluated for t.
func (s *Set) BoolFor(name string, t Target, def bool) bool {
	if v := s.lookup(name, TypeBool, &t); v != nil {
		return v.b
	}
	return def
}

// String returns the value of the named string flag, like [Set.Bool].
func (s *Set) String(name string, def string) string {
	if v := s.lookup(name, TypeString, &noTarget); v != nil {
		return v.s
	}
	return def
}

// StringFor returns the value of the named string flag for t, like
// [Set.BoolFor].
func (s *Set) StringFor(name string, t Target, def string) string {
	if v := s.lookup(name, TypeString, &t); v != nil {
		return v.s
	}
	return def
}

// Float returns the value of the named number flag, like [Set.Bool].
func (s *Set) Float(name string, def float64) float64 {
	if v := s.lookup(name, TypeNumber, &noTarget); v != nil {
		return v.f
	}
	return def
}

// FloatFor returns the value of the named number flag for t, like
// [Set.BoolFor].
func (s *Set) FloatFor(name string, t Target, def float64) float64 {
	if v := s.lookup(name, TypeNumber, &t); v != nil {
		return v.f
	}
	return def
}
