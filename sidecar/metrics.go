package sidecar

import (
	"log/slog"
	"net/http"

	"github.com/bulwark-go/bulwark"
)

// metricsSet is one generation's Prometheus registry: the policies'
// observer and the /metrics handler.
type metricsSet struct {
	observer bulwark.Observer
	handler  http.Handler
}

// newMetricsSet returns nil: Prometheus metrics are not built in yet.
func newMetricsSet(routes []*route, log *slog.Logger) *metricsSet { return nil }
