package h1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// scripted starts an upstream that answers each request it reads with the
// next of answers (raw bytes), on whatever connection it arrives, and
// records the requests' raw header blocks. After the last answer it closes
// the connection.
func scripted(t *testing.T, answers ...string) (addr string, requests func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	next := 0
	addr = serveLoopback(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var raw strings.Builder
			for {
				line, err := br.ReadString('\n')
				raw.WriteString(line)
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
			}
			mu.Lock()
			got = append(got, raw.String())
			i := next
			next++
			mu.Unlock()
			if i >= len(answers) {
				return
			}
			io.WriteString(c, answers[i])
		}
	})
	return addr, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// An upstream URL without a port ("http://backend", which the sidecar's
// config accepts) is dialled on port 80, as net/http does, and its
// connection is pooled under that address.
func TestHostWithoutPortDialsDefaultPort(t *testing.T) {
	srv, _ := counted(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok "+r.Host) })
	target := srv.Listener.Addr().String()
	for _, tc := range []struct{ url, want string }{
		{"http://upstream.test/", "upstream.test:80"},
		{"http://upstream.test:/", "upstream.test:80"},
		{"http://[::1]/", "[::1]:80"},
	} {
		var dialled []string
		fb := http.DefaultTransport.(*http.Transport).Clone()
		fb.Proxy = nil
		fb.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialled = append(dialled, addr)
			var d net.Dialer
			return d.DialContext(ctx, network, target)
		}
		tr := New(fb)
		for range 2 {
			resp, err := get(t, tr, context.Background(), "GET", tc.url)
			if err != nil {
				t.Fatalf("%s: %v", tc.url, err)
			}
			readAll(t, resp)
		}
		if n := tr.idleCount(); n != 1 {
			t.Errorf("%s: %d connections pooled by h1, want 1", tc.url, n)
		}
		tr.CloseIdleConnections()
		if len(dialled) != 1 || dialled[0] != tc.want {
			t.Errorf("%s: dialled %q, want one dial of %q", tc.url, dialled, tc.want)
		}
	}
}

// With a Got1xxResponse hook (ReverseProxy sets one), net/http's Transport
// delivers every 1xx response and puts no bound on their number; an
// upstream sending six 103s is not a failure.
func TestManyEarlyHintsWithHook(t *testing.T) {
	addr, _ := scripted(t, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n", 6)+
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tr := newTransport(t, 4)
	n := 0
	trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { n++; return nil }}
	resp, err := get(t, tr, httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+addr)
	if err != nil {
		t.Fatalf("six 103s with a trace hook: %v", err)
	}
	if body := readAll(t, resp); body != "ok" || n != 6 {
		t.Fatalf("body %q after %d 1xx, want \"ok\" after 6", body, n)
	}
}
