package slogobserver_test

import (
	"errors"
	"log/slog"
	"os"

	"github.com/bulwark-go/bulwark"
	"github.com/bulwark-go/bulwark/slogobserver"
)

func Example() {
	// A text logger without timestamps, so the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	obs, err := slogobserver.New(slogobserver.Config{Logger: logger})
	if err != nil {
		panic(err)
	}
	// A policy would report these; here they are reported by hand.
	obs.Observe(bulwark.Event{Kind: bulwark.KindStateChange, Policy: "breaker", Name: "db", From: "closed", To: "open"})
	obs.Observe(bulwark.Event{Kind: bulwark.KindRetry, Policy: "retry", Name: "db", Attempt: 2}) // debug: not written
	obs.Observe(bulwark.Event{Kind: bulwark.KindExhausted, Policy: "retry", Name: "db", Attempt: 3, Err: errors.New("timeout")})
	// Output:
	// level=WARN msg="bulwark: state changed" policy=breaker name=db from=closed to=open
	// level=INFO msg="bulwark: retries exhausted" policy=retry name=db attempt=3 error=timeout
}
