package otelmetrics

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/internal/catalog"
)

// Pipeline returns a policy that runs p and records how long each call took
// in bulwark.pipeline.duration{name, outcome}. The outcome is "success" when
// the call returns no error, "ignored" when the error is the caller's own
// cancellation ([bulwark.CallerDone]), and "failure" otherwise, including a
// panic, which Pipeline records and re-raises.
//
// name is an attribute of every measurement, so it must come from a small
// fixed set (the name of the operation, never a URL or a user id). Pipeline
// panics if p is nil, like [bulwark.Chain].
func (m *Metrics) Pipeline(name string, p bulwark.Policy) bulwark.Policy {
	if p == nil {
		panic("otelmetrics: Pipeline " + name + ": policy is nil")
	}
	pl := &pipeline{p: p, h: m.histograms[catalog.Pipeline]}
	for _, o := range catalog.Outcomes {
		pl.opts[o] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("name", name), attribute.String("outcome", o.String())))}
	}
	return pl
}

type pipeline struct {
	p    bulwark.Policy
	h    metric.Float64Histogram
	opts [numOutcomes][]metric.RecordOption
}

func (pl *pipeline) Execute(ctx context.Context, op bulwark.Operation) (v any, err error) {
	start := time.Now()
	outcome := bulwark.OutcomeFailure // stays so if p panics
	defer func() { pl.h.Record(ctx, time.Since(start).Seconds(), pl.opts[outcome]...) }()
	v, err = pl.p.Execute(ctx, op)
	switch {
	case err == nil:
		outcome = bulwark.OutcomeSuccess
	case bulwark.CallerDone(ctx, err):
		outcome = bulwark.OutcomeIgnored
	}
	return v, err
}
