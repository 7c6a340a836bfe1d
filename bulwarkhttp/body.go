package bulwarkhttp

import (
	"context"
	"io"
	"net/http"
	"time"
)

// maxDrain bounds how much of a discarded response body is read so that its
// connection can be reused; a longer body is closed unread, which closes
// the connection.
const maxDrain = 64 << 10

// maxDrainWait bounds how long draining a discarded body may take: an
// upstream that drips the body of an answer being retried would otherwise
// hold the retry (with no deadline on the caller's context, for ever).
// Past it the body is closed, and with it the connection.
const maxDrainWait = 100 * time.Millisecond

// discard drains (up to maxDrain bytes, within maxDrainWait) and closes the
// body of a response the caller will never see.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	t := time.AfterFunc(maxDrainWait, func() { _ = resp.Body.Close() }) // ends a Read blocked on the connection
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	t.Stop()
	_ = resp.Body.Close()
}

// cancelBody cancels an attempt's context when the body is closed, so that
// the body stays readable after RoundTrip returns.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// cancelRWBody is cancelBody for the io.ReadWriteCloser body of a
// 101 Switching Protocols response.
type cancelRWBody struct {
	cancelBody
}

func (b *cancelRWBody) Write(p []byte) (int, error) {
	return b.ReadCloser.(io.Writer).Write(p)
}

// cancelOnClose makes closing resp's body cancel its attempt's context.
func cancelOnClose(resp *http.Response, cancel context.CancelCauseFunc) {
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if _, ok := resp.Body.(io.Writer); ok {
		resp.Body = &cancelRWBody{cancelBody{resp.Body, cancel}}
		return
	}
	resp.Body = &cancelBody{resp.Body, cancel}
}
