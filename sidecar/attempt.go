package sidecar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bulwark-go/bulwark/chaos"
	"github.com/bulwark-go/bulwark/timeout"
)

// attemptBase is the base transport of a route's bulwarkhttp.Transport:
// each RoundTrip is one attempt sent to the upstream. It counts the
// attempt and applies chaos, where the upstream would be called, so that
// the transport's policies see an injected fault as the upstream's answer.
type attemptBase struct {
	base  http.RoundTripper
	chaos *chaos.Injector // nil: none
	stats *routeStats
}

func (b *attemptBase) RoundTrip(req *http.Request) (*http.Response, error) {
	info := infoOf(req)
	info.attempts.Add(1)
	b.stats.attempts.Add(1)
	if info.body != nil {
		info.body.expireOn(req.Context())
	}
	var resp *http.Response
	var err error
	injected := false
	start := time.Now()
	if b.chaos == nil {
		resp, err = send(b.base, req, info.body)
	} else {
		resp, injected, err = b.withChaos(req, info.body)
	}
	if !injected {
		b.stats.upstream.observe(time.Since(start))
	}
	if err != nil && errors.Is(context.Cause(req.Context()), timeout.ErrTimeout) {
		b.stats.timeouts.Add(1)
	}
	info.injected.Store(injected)
	return resp, err
}

func (b *attemptBase) withChaos(req *http.Request, body *clientBody) (*http.Response, bool, error) {
	sent := false
	v, err := b.chaos.Execute(req.Context(), roundTrip{b.base, req, body, &sent})
	var inj *injectedStatus
	if errors.As(err, &inj) {
		if req.Body != nil {
			req.Body.Close()
		}
		return injectedResponse(req, inj.code), true, nil
	}
	if err != nil {
		if !sent && req.Body != nil {
			req.Body.Close()
		}
		return nil, false, err
	}
	return v.(*http.Response), false, nil
}

// send sends req upstream once, the client's 100 Continue first (see
// clientBody.sendContinue); body is the client's, nil for none.
func send(base http.RoundTripper, req *http.Request, body *clientBody) (*http.Response, error) {
	if body != nil {
		body.sendContinue()
	}
	return base.RoundTrip(req)
}

// roundTrip is one send as a bulwark.Operation, for chaos.
type roundTrip struct {
	base http.RoundTripper
	req  *http.Request
	body *clientBody
	sent *bool
}

func (rt roundTrip) Call(context.Context) (any, error) {
	*rt.sent = true
	resp, err := send(rt.base, rt.req, rt.body)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// injectedStatus is the error chaos injects: the attempt is answered with
// this status instead of reaching the upstream.
type injectedStatus struct{ code int }

func (e *injectedStatus) Error() string { return fmt.Sprintf("injected fault: status %d", e.code) }

const injectedText = "injected fault\n"

func injectedResponse(req *http.Request, code int) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(HeaderReason, outcomeInjected.String())
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", code, http.StatusText(code)),
		StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(injectedText)), ContentLength: int64(len(injectedText)), Request: req,
	}
}
