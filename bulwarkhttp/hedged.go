package bulwarkhttp

import (
	"context"
	"net/http"
	"sync"

	"github.com/bulwark-go/bulwark/hedge"
)

// hedged sends req under hd: copies of it go out while earlier ones are
// slow, and the first good response wins. Every attempt's context derives
// from ctx, not from the hedger's, so that the winner's body stays readable
// after the hedger returns; the hedger's cancellation reaches an attempt
// only until it has a response. The responses that lose are drained and
// closed, whether they arrive before the winner or after.
func (t *Transport) hedged(ctx context.Context, req *http.Request, hd *hedge.Hedger) (*http.Response, error) {
	hc := &hedgeCall{t: t, req: req.Clone(ctx), parent: ctx}
	v, err := hd.Execute(ctx, hc)
	hc.mu.Lock()
	hc.done = true
	got := hc.resps
	hc.resps = nil
	hc.mu.Unlock()
	resp, _ := v.(*http.Response)
	for _, r := range got {
		if r != resp {
			discard(r)
		}
	}
	return resp, err
}

// hedgeCall is one hedged request; each Call is one attempt.
type hedgeCall struct {
	t      *Transport
	req    *http.Request // a deep copy, so that attempts still running after RoundTrip returns never share the caller's headers
	parent context.Context

	mu    sync.Mutex
	done  bool             // the hedger has returned: late responses are discarded at once
	resps []*http.Response // responses received while the hedger ran
}

func (hc *hedgeCall) Call(hctx context.Context) (any, error) {
	actx, cancel := context.WithCancelCause(hc.parent)
	stop := context.AfterFunc(hctx, func() { cancel(context.Canceled) })
	resp, err := hc.t.send(actx, hc.req, true)
	if !stop() { // the hedger has ended this attempt
		cancel(nil)
		if resp != nil {
			discard(resp)
		}
		if err == nil {
			err = context.Cause(actx)
		}
		return nil, err
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	cancelOnClose(resp, cancel)
	hc.mu.Lock()
	if hc.done {
		hc.mu.Unlock()
		discard(resp)
		return nil, context.Canceled
	}
	hc.resps = append(hc.resps, resp)
	hc.mu.Unlock()
	if se := hc.t.statusError(resp); se != nil {
		return resp, se
	}
	return resp, nil
}
