package health_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/breaker"
	"github.com/bulwark-go/bulwark/health"
)

func Example() {
	db, err := breaker.New(breaker.Config{Name: "db", WindowSize: 2, MinimumCalls: 2})
	if err != nil {
		panic(err)
	}
	h := health.New()
	if err := h.WatchCritical(db); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /livez", h.Live())
	mux.Handle("GET /readyz", h.Ready())

	get := func(path string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Print(path, " ", rec.Code, " ", rec.Body.String())
	}
	get("/readyz")
	for range 2 { // the database fails: the breaker opens
		_ = bulwark.Run(context.Background(), db, func(ctx context.Context) error { return errors.New("down") })
	}
	get("/readyz")
	get("/livez")
	// Output:
	// /readyz 200 {"status":"ok","policies":[{"name":"db","kind":"breaker","critical":true,"ready":true,"state":"closed","figures":{"failure_ratio":0,"slow_call_ratio":0}}]}
	// /readyz 503 {"status":"unavailable","policies":[{"name":"db","kind":"breaker","critical":true,"ready":false,"state":"open","figures":{"failure_ratio":1,"slow_call_ratio":0}}]}
	// /livez 200 {"status":"ok","policies":[{"name":"db","kind":"breaker","critical":true,"ready":false,"state":"open","figures":{"failure_ratio":1,"slow_call_ratio":0}}]}
}
