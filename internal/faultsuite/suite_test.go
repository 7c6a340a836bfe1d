package faultsuite

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-go/bulwark/internal/leakcheck"
)

var scale = flag.Float64("scale", 0.35, "phase length against the full-length run (1 writes the docs' figures); at 0.35 a 20 s outage lasts 7 s, long enough that the breaker's fixed cost of opening (about 20 requests) is under 10 % of what an unprotected client sends")

// TestScenarios runs every scenario, scaled down, and asserts the suite's
// bounds (see Result.Violations).
func TestScenarios(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			leakcheck.Check(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := Run(ctx, sc, Options{Scale: *scale})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range res.Modes {
				t.Log(summaryLine(res, m))
			}
			for _, v := range res.Violations() {
				t.Error(v)
			}
		})
	}
}

func TestMainUsage(t *testing.T) {
	var out, errb strings.Builder
	for _, args := range [][]string{{"-scale", "0"}, {"-only", "nope"}, {"extra"}, {"-bogus"}} {
		out.Reset()
		errb.Reset()
		if code := Main(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("Main(%q) = %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if errb.Len() == 0 {
			t.Errorf("Main(%q) said nothing on stderr", args)
		}
	}
}

// TestWriteDocs runs one short scenario through Main and checks what it
// writes: a table row per mode and a chart that is the Figure.
func TestWriteDocs(t *testing.T) {
	leakcheck.Check(t)
	dir := t.TempDir()
	var out, errb strings.Builder
	code := Main(context.Background(), []string{"-only", "outage", "-scale", "0.05", "-out", dir}, &out, &errb)
	if code == 2 || errb.Len() > 0 {
		t.Fatalf("Main = %d, stderr %q", code, errb.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| [outage](#1-full-outage-then-recovery) | no protection |", "| [outage](#1-full-outage-then-recovery) | bulwark proxy |", "![1. Full outage, then recovery](outage.svg)", "Bounds broken in this run: "} {
		if !strings.Contains(string(md), want) {
			t.Errorf("README.md lacks %q:\n%s", want, md)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "outage.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "bulwark proxy: outcomes") {
		t.Errorf("outage.svg is not the scenario's figure: %.200s", svg)
	}
}
