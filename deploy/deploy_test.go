package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/adaptive"
	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/fallback"
	"github.com/bulwark-go/bulwark/hedge"
	"github.com/bulwark-go/bulwark/internal/catalog"
	"github.com/bulwark-go/bulwark/internal/leakcheck"
	"github.com/bulwark-go/bulwark/internal/scenario"
	"github.com/bulwark-go/bulwark/prommetrics"
	"github.com/bulwark-go/bulwark/ratelimit"
	"github.com/bulwark-go/bulwark/timeout"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// registered returns the names of the series a registry holds after the
// scripted scenario, with every other policy watched and every kind of event
// of every policy observed: histograms give their _bucket, _sum and _count
// names.
func registered(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		m, err := prommetrics.New(prommetrics.Config{Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		scenario.Run(t, scenario.Exporter{Observer: m, Watch: m.Watch, Pipeline: m.Pipeline}, func(string) {})
		if err := m.Watch(
			must(adaptive.New(adaptive.Config{Name: "other"})),
			must(chaos.New(chaos.Config{Name: "other"})),
			must(fallback.New(fallback.Config{Name: "other", Func: fallback.Value(0)})),
			must(hedge.New(hedge.Config{Name: "other", Delay: 1})),
			must(ratelimit.New(ratelimit.Config{Name: "other", Rate: 1, Burst: 1})),
			must(ratelimit.NewKeyed(ratelimit.KeyedConfig{Config: ratelimit.Config{Name: "keyed", Rate: 1, Burst: 1}})),
			must(timeout.New(timeout.Config{Name: "other", Duration: 1})),
		); err != nil {
			t.Fatal(err)
		}
		for policy := range catalog.Policies {
			for k := range catalog.NumKinds {
				for o := range catalog.NumOutcomes {
					m.Observe(bulwark.Event{Kind: bulwark.Kind(k), Policy: policy, Name: "other",
						Outcome: bulwark.Outcome(o), From: "a", To: "b"})
				}
			}
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetType() == dto.MetricType_HISTOGRAM {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[mf.GetName()+s] = true
				}
				continue
			}
			names[mf.GetName()] = true
		}
	})
	return names
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var metricName = regexp.MustCompile(`\bbulwark_[a-z_]*[a-z]\b`)

// checkNames reports the metric names expr uses that are not registered,
// and records those it uses in used.
func checkNames(t *testing.T, where, expr string, names, used map[string]bool) {
	t.Helper()
	found := metricName.FindAllString(expr, -1)
	if len(found) == 0 {
		t.Errorf("%s: query names no bulwark metric: %s", where, expr)
	}
	for _, n := range found {
		if !names[n] {
			t.Errorf("%s: %s is not a metric bulwark registers", where, n)
		}
		used[n] = true
	}
}

// promtool returns the path of promtool. Outside CI it skips the test when
// promtool is missing; in CI (CI=true) that is a failure.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("promtool is not in PATH and CI=true: CI must install it (Debian package prometheus)")
	}
	t.Skip("promtool is not in PATH: install Prometheus's promtool (Debian: apt-get install prometheus) to run this test")
	return ""
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for,omitempty"`
			Labels      map[string]string `yaml:"labels,omitempty"`
			Annotations map[string]string `yaml:"annotations,omitempty"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAlertRules(t *testing.T) {
	var rules ruleFile
	readYAML(t, "prometheus/alerts.yml", &rules)
	var tests ruleTests
	readYAML(t, "prometheus/alerts_test.yml", &tests)

	// Every alert uses only registered metrics, and has a test in which it
	// fires and one in which it stays quiet.
	names, used := registered(t), map[string]bool{}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	alerts := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			checkNames(t, "alert "+r.Alert, r.Expr, names, used)
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s: alerts_test.yml must test it firing (%v) and quiet (%v)", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity label and summary and description annotations", r.Alert)
			}
		}
	}
	if alerts < 6 {
		t.Errorf("%d alerts, want at least 6", alerts)
	}

	tool := promtool(t)
	run(t, "prometheus", tool, "check", "rules", "alerts.yml")
	run(t, "prometheus", tool, "test", "rules", "alerts_test.yml")
}

// The parts of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource map[string]string `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		RefID      string            `json:"refId"`
		Expr       string            `json:"expr"`
		Datasource map[string]string `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/bulwark.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/bulwark.json is not a valid dashboard: %v", err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("grafana/bulwark.json: uid %q, title %q, %d panels", d.UID, d.Title, len(d.Panels))
	}
	return d
}

// grafanaVars replaces Grafana's variables by values PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$job", ".*", "$instance", ".*")

func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	names, used := registered(t), map[string]bool{}
	ids := map[int]string{}
	var exprs []string // in the order of the panels, for promtool
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if prev, ok := ids[p.ID]; ok {
				t.Errorf("%s: id also used by %q", where, prev)
			}
			ids[p.ID] = p.Title
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: bad gridPos %+v", where, p.GridPos)
			}
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource["uid"] != "${datasource}" {
				t.Errorf("%s: datasource %v, want the ${datasource} variable", where, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no queries", where)
			}
			for _, tg := range p.Targets {
				checkNames(t, where+" query "+tg.RefID, tg.Expr, names, used)
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	walk(d.Panels)

	// The dashboard shows every metric bulwark registers.
	var missing []string
	for n := range names {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		if !used[n] && !used[base+"_bucket"] && !used[base+"_count"] && !used[base+"_sum"] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard shows no panel for %s", strings.Join(slices.Compact(missing), ", "))
	}

	// The template variables select on bulwark's metrics.
	for _, v := range d.Templating.List {
		if v.Type == "query" && !strings.Contains(string(v.Query), `bulwark_.+`) {
			t.Errorf("variable %s: query %s does not select bulwark's metrics", v.Name, v.Query)
		}
	}

	// Every query parses: promtool checks them as recording rules.
	tool := promtool(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(grafanaVars.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.yml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, tool, "check", "rules", "dashboard.yml")
}
