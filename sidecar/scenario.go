package sidecar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bulwark-go/bulwark/simulate"
)

// ScenarioFile is a scenario of `bulwark simulate`, as read from its YAML
// file by [ParseScenario]. Its keys are those of [simulate.Scenario], plus
// route and trace; docs/simulate.md has an example of each.
type ScenarioFile struct {
	// Route names the route of the config the clients call. Default: the
	// first.
	Route      string            `yaml:"route"`
	Seed       int64             `yaml:"seed"`
	Duration   time.Duration     `yaml:"duration"`
	Bucket     time.Duration     `yaml:"bucket"`
	Load       []simulate.Load   `yaml:"load"`
	Arrivals   simulate.Arrivals `yaml:"arrivals"`
	Dependency []simulate.Phase  `yaml:"dependency"`
	Client     simulate.Client   `yaml:"client"`
	Trace      *TraceConfig      `yaml:"trace"`
	lines      map[string]int    // key path -> line
	records    []simulate.TraceRecord
}

// TraceConfig replays a recorded trace instead of load and dependency.
type TraceConfig struct {
	// File is the trace's path, relative to the scenario file's folder.
	File string `yaml:"file"`
	// Format is "csv" (default: timestamp, latency, outcome) or "nginx"
	// (the combined log format followed by $request_time).
	Format string `yaml:"format"`
}

// Scenario returns the scenario to simulate.
func (f *ScenarioFile) Scenario() simulate.Scenario {
	return simulate.Scenario{
		Seed: f.Seed, Duration: f.Duration, Bucket: f.Bucket, Load: f.Load, Arrivals: f.Arrivals,
		Dependency: f.Dependency, Client: f.Client, Trace: f.records,
	}
}

// ParseScenario reads a scenario file. Like [ParseConfig], it reports
// every problem with its key path and line, in a [ConfigErrors]:
//
//	dependency[1].error_rate: must be in [0,1], got 1.5 (line 9)
//
// A trace file named by trace.file is not read: see [LoadScenario].
func ParseScenario(data []byte) (*ScenarioFile, error) {
	f := &ScenarioFile{}
	root, errs := yamlRoot(data)
	if errs != nil {
		return nil, errs
	}
	d := &decoder{lines: map[string]int{}}
	d.value("", root, reflect.ValueOf(f).Elem())
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	f.lines = d.lines
	v := &validator{lines: d.lines}
	if f.Trace != nil {
		switch f.Trace.Format {
		case "", "csv", "nginx":
		default:
			v.fail("trace.format", "must be csv or nginx, got %q", f.Trace.Format)
		}
		if f.Trace.File == "" {
			v.fail("trace.file", "required")
		}
		if len(f.Load) > 0 || len(f.Dependency) > 0 {
			v.fail("trace", "a trace replaces load and dependency: give one or the other")
		}
		f.records = []simulate.TraceRecord{} // not nil: Validate knows a trace comes
	}
	sc := f.Scenario()
	for _, e := range unjoin(sc.Validate()) {
		var fe *simulate.FieldError
		if errors.As(e, &fe) {
			v.fail(fe.Path, "%s", fe.Msg)
		} else if m := leadingPath.FindStringSubmatch(e.Error()); m != nil {
			v.fail(m[1], "%s", m[2])
		} else {
			v.fail("", "%s", e.Error())
		}
	}
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return f, nil
}

var leadingPath = regexp.MustCompile(`^([a-z_.\[\]0-9]+): (.*)$`)

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// yamlRoot parses data as one YAML document and returns its top node.
func yamlRoot(data []byte) (*yaml.Node, ConfigErrors) {
	if len(data) > MaxConfigBytes {
		return nil, ConfigErrors{{Msg: fmt.Sprintf("file is %d bytes, more than the %d allowed", len(data), MaxConfigBytes)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ConfigErrors{{Msg: "file is empty"}}
		}
		return nil, ConfigErrors{{Line: yamlErrorLine(err), Msg: err.Error()}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, ConfigErrors{{Line: yamlErrorLine(err), Msg: err.Error()}}
		}
		return nil, ConfigErrors{{Line: extra.Line, Msg: "more than one YAML document; put everything in one"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, ConfigErrors{{Msg: "file is empty"}}
		}
		root = root.Content[0]
	}
	return root, nil
}

var scenarioYAMLLine = regexp.MustCompile(`line (\d+)`)

func yamlErrorLine(err error) int {
	if m := scenarioYAMLLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// LoadScenario reads and parses the scenario file at path, and the trace
// it names.
func LoadScenario(path string) (*ScenarioFile, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	f, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if t := f.Trace; t != nil {
		tp := t.File
		if !isAbs(tp) {
			tp = dirOf(path) + tp
		}
		r, err := os.Open(tp)
		if err != nil {
			return nil, fmt.Errorf("%s: trace.file (line %d): %w", path, f.lines["trace.file"], err)
		}
		defer r.Close()
		if t.Format == "nginx" {
			f.records, err = simulate.ReadNginx(r)
		} else {
			f.records, err = simulate.ReadCSV(r)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tp, err)
		}
	}
	return f, nil
}

func isAbs(p string) bool { return len(p) > 0 && p[0] == '/' }

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1]
		}
	}
	return ""
}
