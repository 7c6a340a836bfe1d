package sidecar

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
)

//go:embed dashboard.html
var dashboardHTML []byte

// AdminHandler returns the admin API and dashboard:
//
//	GET  /                                  the live dashboard (HTML)
//	GET  /admin/policies                    snapshot as JSON
//	GET  /admin/history                     the last five minutes, one point a second
//	GET  /admin/events                      server-sent events: an update each second
//	POST /admin/breakers/{route}/{action}   action: open, close, reset or disable
//	POST /admin/reload                      re-read the config file
//	GET  /metrics                           Prometheus metrics
//	GET  /healthz                           liveness (health package)
//	GET  /readyz                            readiness: 503 while a critical route's breaker is open
//
// Answers are JSON, errors included ({"error": "..."}).
//
// Every request is checked first: its Host must be localhost, a name under
// .localhost, an IP literal or a name in admin.hosts (403 otherwise, so
// that a DNS-rebinding page cannot reach the API); a request a browser
// marks as sent by another site is refused (403); and when admin.token_file
// or admin.token_env sets a token, every endpoint but the dashboard page
// and those listed in admin.public requires "Authorization: Bearer <token>"
// (401), on loopback too.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write(dashboardHTML)
	})
	mux.HandleFunc("GET /admin/policies", func(w http.ResponseWriter, req *http.Request) {
		writeJSON(w, http.StatusOK, s.snapshot())
	})
	mux.HandleFunc("GET /admin/history", s.serveHistory)
	mux.HandleFunc("GET /admin/events", s.serveEvents)
	mux.HandleFunc("POST /admin/breakers/{route}/{action}", s.breakerAction)
	mux.HandleFunc("POST /admin/reload", func(w http.ResponseWriter, req *http.Request) {
		if s.opts.ConfigPath == "" {
			writeJSON(w, http.StatusConflict, map[string]string{"error": "the sidecar was not started from a config file"})
			return
		}
		if err := s.Reload(); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"error": err.Error(), "generation": s.Generation(), "kept": "the running config",
			})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"generation": s.Generation()})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, req *http.Request) {
		m := s.gen.Load().metrics
		if m == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Prometheus metrics are not available (see the log)"})
			return
		}
		m.handler.ServeHTTP(w, req)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, req *http.Request) {
		s.gen.Load().health.Live().ServeHTTP(w, req)
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		s.gen.Load().health.Ready().ServeHTTP(w, req)
	})
	// A web page the operator visits must not be able to POST to the admin
	// API from the browser: cross-origin unsafe requests are refused.
	return s.guard(http.NewCrossOriginProtection().Handler(mux))
}

func (s *Server) breakerAction(w http.ResponseWriter, req *http.Request) {
	name, action := req.PathValue("route"), req.PathValue("action")
	br, err := s.Breaker(name)
	switch {
	case errors.Is(err, ErrNoRoute):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		return
	case err != nil:
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	switch action {
	case "open":
		br.ForceOpen()
	case "close":
		br.ForceClosed()
	case "reset":
		br.Reset()
	case "disable":
		br.Disable()
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown action " + action + ": use open, close, reset or disable"})
		return
	}
	s.log.Info("breaker changed by the admin API", "route", name, "action", action, "state", br.State().String())
	writeJSON(w, http.StatusOK, map[string]string{"route": name, "state": br.State().String()})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
