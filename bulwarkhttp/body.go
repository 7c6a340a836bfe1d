package bulwarkhttp

import (
	"context"
	"io"
	"net/http"
)

// maxDrain bounds how much of a discarded response body is read so that its
// connection can be reused; a longer body is closed unread, which closes
// the connection.
const maxDrain = 64 << 10

// discard drains (up to maxDrain bytes) and closes the body of a response
// the caller will never see.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
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
