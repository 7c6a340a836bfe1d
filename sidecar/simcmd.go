package sidecar

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/simulate"
)

// configFlags collects repeated -config flags.
type configFlags []string

func (c *configFlags) String() string     { return strings.Join(*c, ",") }
func (c *configFlags) Set(v string) error { *c = append(*c, v); return nil }

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("simulate", stderr)
	var configs configFlags
	fs.Var(&configs, "config", "config file (YAML), as for bulwark run; repeat to compare configs side by side")
	scenario := fs.String("scenario", "", "scenario file (YAML); see docs/simulate.md")
	out := fs.String("out", "", "folder to write report.md, report.svg and summary.json into")
	asJSON := fs.Bool("json", false, "print the JSON summary instead of the table")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if len(configs) == 0 || *scenario == "" {
		fmt.Fprintln(stderr, "bulwark simulate: -config and -scenario are required")
		return 2
	}
	sf, err := LoadScenario(*scenario)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The virtual clock settles after every event by reading the runnable
	// goroutine count, which is exact and cheap with one P (see
	// simulate.VirtualClock); the simulation is all this process does.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var runs []simRun
	for _, path := range configs {
		res, err := simulateConfig(ctx, path, sf)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		runs = append(runs, simRun{name: filepath.Base(path), res: res})
	}
	summary, _ := json.MarshalIndent(simJSON(runs), "", "  ")
	summary = append(summary, '\n')
	table := simTable(runs).Markdown()
	if *asJSON {
		stdout.Write(summary)
	} else {
		io.WriteString(stdout, table)
	}
	if *out != "" {
		fig := simFigure(filepath.Base(*scenario), runs)
		md := fmt.Sprintf("# %s\n\n%s\n![outcomes, latency, calls reaching the dependency and the policies' state over time](report.svg)\n", filepath.Base(*scenario), table)
		for name, data := range map[string][]byte{"report.md": []byte(md), "report.svg": fig.SVG(), "summary.json": summary} {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				fmt.Fprintln(stderr, "bulwark simulate:", err)
				return 1
			}
		}
	}
	return 0
}

// simulateConfig runs the scenario against the config file at path.
func simulateConfig(ctx context.Context, path string, sf *ScenarioFile) (*simulate.Result, error) {
	cfg, _, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	clock := simulate.NewVirtualClock(time.Unix(0, 0).UTC())
	sim, target, err := simulation(cfg, sf, clock)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sim.Run(ctx, target)
}

type simJSONRun struct {
	Config string           `json:"config"`
	Result *simulate.Result `json:"result"`
}

func simJSON(runs []simRun) []simJSONRun {
	out := make([]simJSONRun, len(runs))
	for i, r := range runs {
		out[i] = simJSONRun{Config: r.name, Result: r.res}
	}
	return out
}
