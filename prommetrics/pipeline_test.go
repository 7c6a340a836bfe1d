package prommetrics

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
)

func TestPipelineTimesCallsByOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newTest(t)
		p := m.Pipeline("checkout", bulwark.Chain())
		ctx := t.Context()
		sleep := func(d time.Duration, err error) func(context.Context) error {
			return func(ctx context.Context) error { time.Sleep(d); return err }
		}
		if err := bulwark.Run(ctx, p, sleep(3*time.Millisecond, nil)); err != nil {
			t.Fatal(err)
		}
		if err := bulwark.Run(ctx, p, sleep(300*time.Millisecond, nil)); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		if err := bulwark.Run(ctx, p, sleep(20*time.Millisecond, boom)); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := bulwark.Run(cctx, p, func(ctx context.Context) error { return ctx.Err() }); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
		func() {
			defer func() {
				if r := recover(); r != "kaput" {
					t.Errorf("recovered %v, want the panic re-raised", r)
				}
			}()
			_ = bulwark.Run(ctx, p, func(ctx context.Context) error { time.Sleep(2 * time.Second); panic("kaput") })
		}()

		counts := map[string]uint64{}
		sums := map[string]float64{}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != catalog.Pipeline.PromName() {
				continue
			}
			for _, mt := range mf.GetMetric() {
				var outcome, name string
				for _, l := range mt.GetLabel() {
					switch l.GetName() {
					case "outcome":
						outcome = l.GetValue()
					case "name":
						name = l.GetValue()
					}
				}
				if name != "checkout" {
					t.Errorf("name label = %q", name)
				}
				counts[outcome] = mt.GetHistogram().GetSampleCount()
				sums[outcome] = mt.GetHistogram().GetSampleSum()
			}
		}
		wantCounts := map[string]uint64{"success": 2, "failure": 2, "ignored": 1}
		wantSums := map[string]float64{"success": 0.303, "failure": 2.02, "ignored": 0}
		for o := range wantCounts {
			if counts[o] != wantCounts[o] || !near(sums[o], wantSums[o]) {
				t.Errorf("%s: count %d sum %v, want %d and %v", o, counts[o], sums[o], wantCounts[o], wantSums[o])
			}
		}
		if n := testutil.CollectAndCount(m.fam.histograms[catalog.Pipeline]); n != 3 {
			t.Errorf("series = %d, want 3", n)
		}
	})
}

func near(a, b float64) bool { d := a - b; return d < 1e-9 && d > -1e-9 }

func TestPipelineNilPolicyPanics(t *testing.T) {
	m, _ := newTest(t)
	defer func() {
		if recover() == nil {
			t.Error("Pipeline(nil) did not panic")
		}
	}()
	m.Pipeline("x", nil)
}
