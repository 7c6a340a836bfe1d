package sidecar

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Event streams (GET /admin/events).
const (
	// maxEventStreams bounds the event streams open at once; more are
	// answered 503.
	maxEventStreams = 16
	// eventStreamLife bounds one stream: the page reconnects after it.
	eventStreamLife = 10 * time.Minute
)

// update is what the event stream sends each second: the snapshot and the
// newest history point.
type update struct {
	Snapshot snapshot     `json:"snapshot"`
	Point    historyPoint `json:"point"`
}

// serveHistory answers the history, or its newest n points (?n=).
func (s *Server) serveHistory(w http.ResponseWriter, req *http.Request) {
	s.sampleIfDue(time.Now())
	pts := s.history()
	if v := req.URL.Query().Get("n"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > historyLength {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("n: want a number of points in 1..%d, got %q", historyLength, v)})
			return
		}
		pts = pts[max(0, len(pts)-n):]
	}
	writeJSON(w, http.StatusOK, map[string]any{"interval_seconds": historyInterval.Seconds(), "points": pts})
}

// serveEvents streams an update every second as server-sent events
// (text/event-stream, event "update"), until the client goes, the server
// shuts down or eventStreamLife passes.
func (s *Server) serveEvents(w http.ResponseWriter, req *http.Request) {
	if s.streams.Add(1) > maxEventStreams {
		s.streams.Add(-1)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "too many event streams open: poll /admin/policies"})
		return
	}
	defer s.streams.Add(-1)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n\n"))
	send := func(now time.Time) error {
		p, _ := s.sampleIfDue(now)
		b, err := json.Marshal(update{Snapshot: s.snapshot(), Point: p})
		if err != nil {
			return err
		}
		if _, err := w.Write(append(append([]byte("event: update\ndata: "), b...), "\n\n"...)); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send(time.Now()) != nil {
		return
	}
	life := time.NewTimer(eventStreamLife)
	defer life.Stop()
	t := time.NewTicker(historyInterval)
	defer t.Stop()
	for {
		select {
		case <-req.Context().Done():
			return
		case <-life.C:
			return
		case now := <-t.C:
			if send(now) != nil {
				return
			}
		}
	}
}
