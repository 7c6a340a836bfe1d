package prommetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
)

// Pipeline returns a policy that runs p and records how long each call took
// in bulwark_pipeline_duration_seconds{name, outcome}. The outcome is
// "success" when the call returns no error, "ignored" when the error is the
// caller's own cancellation ([bulwark.CallerDone]), and "failure" otherwise,
// including a panic, which Pipeline records and re-raises.
//
// name labels the series, so it must come from a small fixed set (the name
// of the operation, never a URL or a user id). Pipeline panics if p is nil,
// like [bulwark.Chain].
func (m *Metrics) Pipeline(name string, p bulwark.Policy) bulwark.Policy {
	if p == nil {
		panic("prommetrics: Pipeline " + name + ": policy is nil")
	}
	pl := &pipeline{p: p}
	for _, o := range catalog.Outcomes {
		pl.obs[o] = m.fam.histograms[catalog.Pipeline].WithLabelValues(name, o.String())
	}
	return pl
}

type pipeline struct {
	p   bulwark.Policy
	obs [numOutcomes]prometheus.Observer
}

func (pl *pipeline) Execute(ctx context.Context, op bulwark.Operation) (v any, err error) {
	start := time.Now()
	outcome := bulwark.OutcomeFailure // stays so if p panics
	defer func() { pl.obs[outcome].Observe(time.Since(start).Seconds()) }()
	v, err = pl.p.Execute(ctx, op)
	switch {
	case err == nil:
		outcome = bulwark.OutcomeSuccess
	case bulwark.CallerDone(ctx, err):
		outcome = bulwark.OutcomeIgnored
	}
	return v, err
}
