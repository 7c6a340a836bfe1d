package sidecar

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark/internal/report"
	"github.com/bulwark-go/bulwark/simulate"
)

// tuneParam is one -param of bulwark simulate -tune: a key path in the
// tuned route's config (breaker.wait, retry.max_attempts, timeout...) and
// the range searched.
type tuneParam struct {
	key      string
	min, max float64
	kind     byte // 'd' duration (nanoseconds), 'i' integer, 'f' float
	log      bool // searched on a log scale: positive, spanning 10× or more
}

// parseTuneParam reads KEY=MIN..MAX, such as breaker.wait=1s..30s.
func parseTuneParam(s string) (tuneParam, error) {
	key, rng, ok := strings.Cut(s, "=")
	lo, hi, ok2 := strings.Cut(rng, "..")
	if !ok || !ok2 || key == "" {
		return tuneParam{}, fmt.Errorf("-param %q: want KEY=MIN..MAX, such as breaker.wait=1s..30s", s)
	}
	p := tuneParam{key: key}
	if a, err := time.ParseDuration(lo); err == nil {
		b, err := time.ParseDuration(hi)
		if err != nil {
			return p, fmt.Errorf("-param %s: %q is a duration but %q is not", key, lo, hi)
		}
		p.kind, p.min, p.max = 'd', float64(a), float64(b)
	} else if a, err := strconv.Atoi(lo); err == nil {
		b, err := strconv.Atoi(hi)
		if err != nil {
			return p, fmt.Errorf("-param %s: %q is an integer but %q is not", key, lo, hi)
		}
		p.kind, p.min, p.max = 'i', float64(a), float64(b)
	} else {
		a, err1 := strconv.ParseFloat(lo, 64)
		b, err2 := strconv.ParseFloat(hi, 64)
		if err1 != nil || err2 != nil || math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			return p, fmt.Errorf("-param %s: %q..%q are not two durations, integers or numbers", key, lo, hi)
		}
		p.kind, p.min, p.max = 'f', a, b
	}
	if p.min > p.max {
		return p, fmt.Errorf("-param %s: min %s is above max %s", key, lo, hi)
	}
	p.log = p.min > 0 && p.max >= 10*p.min
	return p, nil
}

// at is the value at position u in [0,1] of the range.
func (p *tuneParam) at(u float64) float64 {
	u = min(max(u, 0), 1)
	v := p.min + u*(p.max-p.min)
	if p.log {
		v = math.Exp(math.Log(p.min) + u*(math.Log(p.max)-math.Log(p.min)))
	}
	switch p.kind {
	case 'i':
		v = math.Round(v)
	case 'd':
		v = float64(time.Duration(v).Round(time.Millisecond))
		if v == 0 && p.max > 0 {
			v = float64(time.Millisecond)
		}
	}
	return min(max(v, p.min), p.max)
}

func (p *tuneParam) format(v float64) string {
	switch p.kind {
	case 'd':
		return time.Duration(v).String()
	case 'i':
		return strconv.Itoa(int(v))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// tuneGoal is what -tune searches for: the largest share of successful
// requests among the configs that meet the bounds.
type tuneGoal struct {
	maxOutageLoad float64       // requests reaching the dependency during the outage, as a share of normal; <0: none
	maxP99        time.Duration // 0: none
}

// violation is how far s is outside the goal's bounds, 0 when within.
func (g tuneGoal) violation(s simulate.Summary) float64 {
	var v float64
	if g.maxOutageLoad >= 0 && s.OutageLoad > g.maxOutageLoad {
		v += s.OutageLoad - g.maxOutageLoad
	}
	if g.maxP99 > 0 && s.P99 > g.maxP99 {
		v += float64(s.P99-g.maxP99) / float64(g.maxP99)
	}
	return v
}

// tuneTrial is one config tried: its position in the search space, its
// values and its result.
type tuneTrial struct {
	u      []float64
	values []float64
	res    *simulate.Result
	bad    float64 // goal.violation
	err    error
}

// better reports whether a ranks above b: within the bounds first, then
// the larger success share, then the fewer requests reaching the
// dependency during the outage.
func better(a, b *tuneTrial) bool {
	switch {
	case a.err != nil || b.err != nil:
		return b.err != nil && a.err == nil
	case a.bad != b.bad:
		return a.bad < b.bad
	case a.res.Summary.Succeeded != b.res.Summary.Succeeded:
		return a.res.Summary.Succeeded > b.res.Summary.Succeeded
	}
	return a.res.Summary.OutageLoad < b.res.Summary.OutageLoad
}

// tuner searches params of one route of a base config.
type tuner struct {
	base   []byte // the base config file
	route  string // the tuned route; "" the first
	params []tuneParam
	goal   tuneGoal
	sf     *ScenarioFile
	trials []*tuneTrial
	seen   map[string]*tuneTrial // by values: a config is simulated once
	spent  int                   // positions tried, repeats included
}

// configFor returns the base config file with the tuned route's keys set
// to values.
func (t *tuner) configFor(values []float64) ([]byte, error) {
	root, errs := yamlRoot(t.base)
	if errs != nil {
		return nil, errs
	}
	routes := mapValue(root, "routes")
	if routes == nil || routes.Kind != yaml.SequenceNode || len(routes.Content) == 0 {
		return nil, fmt.Errorf("the config has no routes to tune")
	}
	rt := routes.Content[0]
	for _, r := range routes.Content {
		if n := mapValue(r, "name"); n != nil && n.Value == t.route {
			rt = r
		}
	}
	for i, p := range t.params {
		node := rt
		path := strings.Split(p.key, ".")
		for _, k := range path[:len(path)-1] {
			next := mapValue(node, k)
			if next == nil {
				next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				setMapValue(node, k, next)
			}
			node = next
		}
		if node.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("-param %s: %s is not a mapping in the config", p.key, strings.Join(path[:len(path)-1], "."))
		}
		setMapValue(node, path[len(path)-1], &yaml.Node{Kind: yaml.ScalarNode, Value: p.format(values[i])})
	}
	return yaml.Marshal(root)
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Kind, m.Style = yaml.MappingNode, 0 // flow maps stay valid block maps
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

// try runs the scenario against the config at u; the same scenario seed
// for every trial, so that configs are compared on the same traffic.
func (t *tuner) try(ctx context.Context, u []float64) *tuneTrial {
	t.spent++
	tr := &tuneTrial{u: slices.Clone(u)}
	var key strings.Builder
	for i := range t.params {
		tr.values = append(tr.values, t.params[i].at(u[i]))
		key.WriteString(t.params[i].format(tr.values[i]) + " ")
	}
	if t.seen == nil {
		t.seen = map[string]*tuneTrial{}
	}
	if old, ok := t.seen[key.String()]; ok {
		return old
	}
	t.seen[key.String()] = tr
	t.trials = append(t.trials, tr)
	data, err := t.configFor(tr.values)
	if err != nil {
		tr.err = err
		return tr
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		tr.err = err
		return tr
	}
	sim, target, err := simulation(cfg, t.sf, simulate.NewVirtualClock(time.Unix(0, 0).UTC()))
	if err != nil {
		tr.err = err
		return tr
	}
	if tr.res, tr.err = sim.Run(ctx, target); tr.err == nil {
		tr.bad = t.goal.violation(tr.res.Summary)
	}
	return tr
}

// search spends at most evals simulations (and tries at most 4×evals
// positions, as positions that round to a config already tried cost
// none): a seeded random search over the whole
// space for the first half, then coordinate refinement from the best
// found, moving one parameter at a time by a step that halves whenever no
// move helps. It returns the trials, best first.
//
// Why: the figures are step functions of the parameters (a breaker opens
// or not, a request fits the bulkhead or not), so there is no gradient to
// follow and a model of the surface would need many more runs than the
// handful of parameters warrants; random search covers every parameter's
// whole range at the same cost whichever ones matter, and the refinement
// then takes the best of it to the edge of the bounds, where the best
// config usually sits.
func (t *tuner) search(ctx context.Context, evals int, seed int64) ([]*tuneTrial, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x74756e65))
	n := len(t.params)
	best := t.try(ctx, slices.Repeat([]float64{0.5}, n))
	explore := max(evals/2, 1)
	for len(t.trials) < explore && t.spent < 4*evals {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u := make([]float64, n)
		for i := range u {
			u[i] = rng.Float64()
		}
		if tr := t.try(ctx, u); better(tr, best) {
			best = tr
		}
	}
	for step := 0.25; step >= 1.0/64 && len(t.trials) < evals && t.spent < 4*evals; {
		moved := false
		for i := 0; i < n && len(t.trials) < evals; i++ {
			for _, dir := range []float64{-1, 1} {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				u := slices.Clone(best.u)
				u[i] = min(max(u[i]+dir*step, 0), 1)
				if u[i] == best.u[i] || len(t.trials) >= evals {
					continue
				}
				if tr := t.try(ctx, u); better(tr, best) {
					best, moved = tr, true
				}
			}
		}
		if !moved {
			step /= 2
		}
	}
	out := slices.Clone(t.trials)
	slices.SortStableFunc(out, func(a, b *tuneTrial) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	return out, nil
}

// tuneTable is the top trials, one row each.
func (t *tuner) tuneTable(trials []*tuneTrial) report.Table {
	tb := report.Table{Header: []string{"rank"}}
	for _, p := range t.params {
		tb.Header = append(tb.Header, p.key)
	}
	tb.Header = append(tb.Header, "succeeded", "p99", "during outage (vs normal)", "recovery", "within goal")
	for range tb.Header {
		tb.Align = append(tb.Align, report.AlignRight)
	}
	for i, tr := range trials {
		row := []string{strconv.Itoa(i + 1)}
		for j, p := range t.params {
			row = append(row, p.format(tr.values[j]))
		}
		if tr.err != nil {
			row = append(row, "error: "+strings.ReplaceAll(tr.err.Error(), "\n", "; "), "", "", "", "no")
		} else {
			s := tr.res.Summary
			rec := "never"
			if s.Recovery >= 0 {
				rec = s.Recovery.String()
			}
			ok := "yes"
			if tr.bad > 0 {
				ok = "no"
			}
			row = append(row, pct(s.Succeeded), ms(s.P99), fmt.Sprintf("%d (%s)", s.OutageAttempts, pct(s.OutageLoad)), rec, ok)
		}
		tb.Rows = append(tb.Rows, row)
	}
	return tb
}
