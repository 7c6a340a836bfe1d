package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// ---------------------------------------------------------------------------
// ParseRequest

type reqWant struct {
	method, target, path string
	query                *string // nil: Query must be nil
	host                 string
	fields               []string // "Name: Value"
	close                bool
}

func strp(s string) *string { return &s }

var acceptedRequests = []struct {
	name string
	head string
	want reqWant
}{
	{"minimal", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		reqWant{method: "GET", target: "/", path: "/", host: "example.com"}},
	{"query and close", "GET /a/b/?x=1&y=%20&z=?/!'()* HTTP/1.1\r\nHost: a:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n",
		reqWant{method: "GET", target: "/a/b/?x=1&y=%20&z=?/!'()*", path: "/a/b/", query: strp("x=1&y=%20&z=?/!'()*"),
			host: "a:8080", fields: []string{"Accept: */*", "Connection: close"}, close: true}},
	{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
		reqWant{method: "GET", target: "/a?", path: "/a", query: strp(""), host: "h"}},
	{"blanks, case, keep-alive, Content-Length 0", "HEAD /x HTTP/1.1\r\nhOsT:   h  \r\nContent-Length: 0\r\nConnection: Keep-Alive\r\nX-Empty:\r\nX-Tab:\ta\tb\t\r\n\r\n",
		reqWant{method: "HEAD", target: "/x", path: "/x", host: "h",
			fields: []string{"Content-Length: 0", "Connection: Keep-Alive", "X-Empty: ", "X-Tab: a\tb"}}},
	{"CONNECTION CLOSE", "DELETE /x HTTP/1.1\r\nHost: h\r\nCONNECTION: CLOSE\r\n\r\n",
		reqWant{method: "DELETE", target: "/x", path: "/x", host: "h", fields: []string{"CONNECTION: CLOSE"}, close: true}},
	{"IPv6 host", "GET /p HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
		reqWant{method: "GET", target: "/p", path: "/p", host: "[::1]:80"}},
	{"path characters", "OPTIONS /a-b._~$&+,;=:@/c/.d/..e/ HTTP/1.1\r\nHost: h\r\n\r\n",
		reqWant{method: "OPTIONS", target: "/a-b._~$&+,;=:@/c/.d/..e/", path: "/a-b._~$&+,;=:@/c/.d/..e/", host: "h"}},
	{"obs-text value, token name", "GET / HTTP/1.1\r\nX-!#$%&'*+-.^_`|~9: caf\xc3\xa9 \x80\xff\r\nHost: h\r\n\r\n",
		reqWant{method: "GET", target: "/", path: "/", host: "h", fields: []string{"X-!#$%&'*+-.^_`|~9: caf\xc3\xa9 \x80\xff"}}},
	{"extension method", "PURGE /c HTTP/1.1\r\nHost: h\r\nIdempotency-Key: 1\r\n\r\n",
		reqWant{method: "PURGE", target: "/c", path: "/c", host: "h", fields: []string{"Idempotency-Key: 1"}}},
}

func TestParseRequestAccepts(t *testing.T) {
	for _, tc := range acceptedRequests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if !ParseRequest([]byte(tc.head), &r) {
				t.Fatalf("ParseRequest(%q) = false", tc.head)
			}
			w := tc.want
			if string(r.Method) != w.method || string(r.Target) != w.target || string(r.Path) != w.path ||
				string(r.Host) != w.host || r.Close != w.close {
				t.Errorf("got method %q target %q path %q host %q close %v, want %+v", r.Method, r.Target, r.Path, r.Host, r.Close, w)
			}
			switch {
			case w.query == nil && r.Query != nil:
				t.Errorf("Query = %q, want nil", r.Query)
			case w.query != nil && (r.Query == nil || string(r.Query) != *w.query):
				t.Errorf("Query = %q (nil %v), want %q", r.Query, r.Query == nil, *w.query)
			}
			var got []string
			for _, f := range r.Fields {
				got = append(got, string(f.Name)+": "+string(f.Value))
			}
			if !slices.Equal(got, w.fields) {
				t.Errorf("Fields = %q, want %q", got, w.fields)
			}
		})
	}
}

// TestParseRequestReuse checks that Fields is reused and that nothing of
// an earlier request survives in r.
func TestParseRequestReuse(t *testing.T) {
	var r Request
	if !ParseRequest([]byte("GET /a?q HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nConnection: close\r\n\r\n"), &r) {
		t.Fatal("first request rejected")
	}
	p := &r.Fields[:1][0]
	if !ParseRequest([]byte("GET /b HTTP/1.1\r\nHost: g\r\nC: 3\r\n\r\n"), &r) {
		t.Fatal("second request rejected")
	}
	if r.Query != nil || r.Close || len(r.Fields) != 1 || string(r.Fields[0].Name) != "C" || string(r.Host) != "g" {
		t.Errorf("second request: %+v", r)
	}
	if &r.Fields[0] != p {
		t.Error("Fields not reused")
	}
	if ParseRequest([]byte("GET /b HTTP/1.0\r\nHost: g\r\n\r\n"), &r) || r.Close || r.Host != nil {
		t.Errorf("after a rejected request: %+v", r)
	}
	head := []byte("GET /a?q HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nConnection: close\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() { ParseRequest(head, &r) }); n != 0 {
		t.Errorf("ParseRequest allocates %v times", n)
	}
}

const okHost = "Host: h\r\n"

var rejectedRequests = []struct{ name, head string }{
	// request line
	{"HTTP/1.0", "GET / HTTP/1.0\r\n" + okHost + "\r\n"},
	{"HTTP/2.0", "GET / HTTP/2.0\r\n" + okHost + "\r\n"},
	{"lower-case version", "GET / http/1.1\r\n" + okHost + "\r\n"},
	{"no version", "GET /\r\n" + okHost + "\r\n"},
	{"blank after version", "GET / HTTP/1.1 \r\n" + okHost + "\r\n"},
	{"two spaces", "GET  / HTTP/1.1\r\n" + okHost + "\r\n"},
	{"space in target", "GET /a b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"tab separator", "GET\t/ HTTP/1.1\r\n" + okHost + "\r\n"},
	{"empty method", " / HTTP/1.1\r\n" + okHost + "\r\n"},
	{"non-token method", "G(T / HTTP/1.1\r\n" + okHost + "\r\n"},
	{"empty target", "GET  HTTP/1.1\r\n" + okHost + "\r\n"},
	{"absolute-form", "GET http://h/ HTTP/1.1\r\n" + okHost + "\r\n"},
	{"authority-form", "CONNECT h:443 HTTP/1.1\r\n" + okHost + "\r\n"},
	{"asterisk", "OPTIONS * HTTP/1.1\r\n" + okHost + "\r\n"},
	{"dot segment", "GET /a/./b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"dot-dot segment", "GET /a/../b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"leading dot-dot", "GET /.. HTTP/1.1\r\n" + okHost + "\r\n"},
	{"trailing dot", "GET /a/. HTTP/1.1\r\n" + okHost + "\r\n"},
	{"trailing dot-dot before query", "GET /a/..?x HTTP/1.1\r\n" + okHost + "\r\n"},
	{"double slash", "GET //a HTTP/1.1\r\n" + okHost + "\r\n"},
	{"inner double slash", "GET /a//b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"trailing double slash", "GET /a// HTTP/1.1\r\n" + okHost + "\r\n"},
	{"percent in path", "GET /a%2e%2e/b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"backslash", "GET /a\\..\\b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"fragment", "GET /a#f HTTP/1.1\r\n" + okHost + "\r\n"},
	{"quote in path", "GET /a'b HTTP/1.1\r\n" + okHost + "\r\n"},
	{"star in path", "GET /a* HTTP/1.1\r\n" + okHost + "\r\n"},
	{"non-ASCII path", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + okHost + "\r\n"},
	{"control in query", "GET /a?b\x01 HTTP/1.1\r\n" + okHost + "\r\n"},
	{"fragment in query", "GET /a?b#c HTTP/1.1\r\n" + okHost + "\r\n"},
	{"backslash in query", "GET /a?b\\c HTTP/1.1\r\n" + okHost + "\r\n"},
	// body and framing
	{"Content-Length 5", "POST / HTTP/1.1\r\n" + okHost + "Content-Length: 5\r\n\r\n"},
	{"Content-Length 00", "GET / HTTP/1.1\r\n" + okHost + "Content-Length: 00\r\n\r\n"},
	{"Content-Length empty", "GET / HTTP/1.1\r\n" + okHost + "Content-Length:\r\n\r\n"},
	{"Content-Length +0", "GET / HTTP/1.1\r\n" + okHost + "Content-Length: +0\r\n\r\n"},
	{"Content-Length list", "GET / HTTP/1.1\r\n" + okHost + "Content-Length: 0, 0\r\n\r\n"},
	{"Content-Length 0 and 1", "GET / HTTP/1.1\r\n" + okHost + "Content-Length: 0\r\ncontent-length: 1\r\n\r\n"},
	{"Content-Length twice", "GET / HTTP/1.1\r\n" + okHost + "Content-Length: 0\r\ncontent-length: 0\r\n\r\n"},
	{"Transfer-Encoding chunked", "POST / HTTP/1.1\r\n" + okHost + "Transfer-Encoding: chunked\r\n\r\n"},
	{"Transfer-Encoding identity", "GET / HTTP/1.1\r\n" + okHost + "transfer-encoding: identity\r\n\r\n"},
	{"Transfer-Encoding empty", "GET / HTTP/1.1\r\n" + okHost + "Transfer-Encoding:\r\n\r\n"},
	{"Expect", "GET / HTTP/1.1\r\n" + okHost + "Expect: 100-continue\r\n\r\n"},
	{"Upgrade", "GET / HTTP/1.1\r\n" + okHost + "Connection: keep-alive\r\nUpgrade: websocket\r\n\r\n"},
	{"TE", "GET / HTTP/1.1\r\n" + okHost + "TE: trailers\r\n\r\n"},
	{"Trailer", "GET / HTTP/1.1\r\n" + okHost + "Trailer: X\r\n\r\n"},
	{"HTTP2-Settings", "GET / HTTP/1.1\r\n" + okHost + "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"},
	{"Connection upgrade", "GET / HTTP/1.1\r\n" + okHost + "Connection: Upgrade\r\n\r\n"},
	{"Connection list", "GET / HTTP/1.1\r\n" + okHost + "Connection: keep-alive, close\r\n\r\n"},
	{"Connection naming a field", "GET / HTTP/1.1\r\n" + okHost + "Connection: X-Secret\r\n\r\n"},
	{"Connection empty", "GET / HTTP/1.1\r\n" + okHost + "Connection:\r\n\r\n"},
	// Host
	{"no Host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"},
	{"two equal Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"},
	{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n"},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"},
	{"Host with slash", "GET / HTTP/1.1\r\nHost: h/x\r\n\r\n"},
	{"Host with blank", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{"Host too long", "GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 256) + "\r\n\r\n"},
	// header syntax
	{"obs-fold", "GET / HTTP/1.1\r\n" + okHost + "X: a\r\n b\r\n\r\n"},
	{"obs-fold with tab", "GET / HTTP/1.1\r\n" + okHost + "X: a\r\n\tb\r\n\r\n"},
	{"folded Host", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n"},
	{"first field line indented", "GET / HTTP/1.1\r\n Host: h\r\n\r\n"},
	{"bare LF after request line", "GET / HTTP/1.1\n" + okHost + "\r\n"},
	{"bare LF after field", "GET / HTTP/1.1\r\nHost: h\n\r\n"},
	{"bare LF head end", "GET / HTTP/1.1\r\nHost: h\r\n\n"},
	{"all bare LF", "GET / HTTP/1.1\nHost: h\n\n"},
	{"bare CR in value", "GET / HTTP/1.1\r\n" + okHost + "X: a\rb\r\n\r\n"},
	{"CR CR LF", "GET / HTTP/1.1\r\n" + okHost + "X: a\r\r\n\r\n"},
	{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n"},
	{"tab before colon", "GET / HTTP/1.1\r\n" + okHost + "X\t: a\r\n\r\n"},
	{"NUL in value", "GET / HTTP/1.1\r\n" + okHost + "X: a\x00b\r\n\r\n"},
	{"SOH in value", "GET / HTTP/1.1\r\n" + okHost + "X: \x01\r\n\r\n"},
	{"DEL in value", "GET / HTTP/1.1\r\n" + okHost + "X: a\x7f\r\n\r\n"},
	{"ESC in Host", "GET / HTTP/1.1\r\nHost: h\x1b\r\n\r\n"},
	{"empty name", "GET / HTTP/1.1\r\n" + okHost + ": a\r\n\r\n"},
	{"name with blank", "GET / HTTP/1.1\r\n" + okHost + "X Y: a\r\n\r\n"},
	{"name with parenthesis", "GET / HTTP/1.1\r\n" + okHost + "X(Y): a\r\n\r\n"},
	{"name with quote", "GET / HTTP/1.1\r\n" + okHost + "X\"Y: a\r\n\r\n"},
	{"name with at", "GET / HTTP/1.1\r\n" + okHost + "X@Y: a\r\n\r\n"},
	{"non-ASCII name", "GET / HTTP/1.1\r\n" + okHost + "Caf\xc3\xa9: a\r\n\r\n"},
	{"no colon", "GET / HTTP/1.1\r\n" + okHost + "Foo\r\n\r\n"},
	// head shape
	{"empty", ""},
	{"no blank line", "GET / HTTP/1.1\r\n" + okHost},
	{"bytes after the blank line", "GET / HTTP/1.1\r\n" + okHost + "\r\nGET / HTTP/1.1\r\n"},
	{"leading blank line", "\r\nGET / HTTP/1.1\r\n" + okHost + "\r\n"},
}

func TestParseRequestRejects(t *testing.T) {
	for _, tc := range rejectedRequests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if ParseRequest([]byte(tc.head), &r) {
				t.Errorf("ParseRequest(%q) = true, want false", tc.head)
			}
		})
	}
}

// checkAgainstReadRequest fails t unless http.ReadRequest reads the same
// request from head as ParseRequest did into r: the fast path must never
// serve a request that net/http would frame or read otherwise.
func checkAgainstReadRequest(t *testing.T, head []byte, r *Request) {
	t.Helper()
	const next = "NEXT"
	br := bufio.NewReader(strings.NewReader(string(head) + next))
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("ParseRequest accepts %q, http.ReadRequest fails: %v", head, err)
	}
	if rest, _ := br.Peek(br.Buffered()); string(rest) != next {
		t.Fatalf("%q: http.ReadRequest's head ends elsewhere: left %q", head, rest)
	}
	if req.Method != string(r.Method) || req.RequestURI != string(r.Target) || req.Host != string(r.Host) {
		t.Errorf("%q: net/http: %q %q host %q; wire: %q %q host %q", head, req.Method, req.RequestURI, req.Host, r.Method, r.Target, r.Host)
	}
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 {
		t.Errorf("%q: net/http reads %s", head, req.Proto)
	}
	if req.URL.Path != string(r.Path) || req.URL.RawQuery != string(r.Query) || req.URL.ForceQuery != (r.Query != nil && len(r.Query) == 0) || req.URL.Host != "" {
		t.Errorf("%q: net/http's URL %#v; wire: path %q query %q", head, req.URL, r.Path, r.Query)
	}
	if req.ContentLength != 0 || req.Body != http.NoBody || len(req.TransferEncoding) != 0 || req.Trailer != nil {
		t.Errorf("%q: net/http reads a body: ContentLength %d, TransferEncoding %q", head, req.ContentLength, req.TransferEncoding)
	}
	if req.Close != r.Close {
		t.Errorf("%q: net/http's Close %v, wire's %v", head, req.Close, r.Close)
	}
	// What net/http's server checks after reading a request (conn.readRequest);
	// ReadRequest moves Host from Header to req.Host.
	for k, vv := range req.Header {
		if !isToken([]byte(k)) {
			t.Errorf("%q: net/http's field name %q", head, k)
		}
		for _, v := range vv {
			for _, c := range []byte(v) {
				if !valueChar[c] {
					t.Errorf("%q: net/http's field %s value %q", head, k, v)
				}
			}
		}
	}
	want := http.Header{}
	for _, f := range r.Fields {
		want.Add(string(f.Name), string(f.Value)) // canonicalises the name
	}
	got := req.Header.Clone()
	delete(got, "Host")
	// net/http adds Cache-Control: no-cache to a request with Pragma:
	// no-cache and no Cache-Control (fixPragmaCacheControl); the header
	// is not sent anywhere, so this is no disagreement on the request.
	if _, ok := want["Cache-Control"]; !ok && slices.Equal(got["Cache-Control"], []string{"no-cache"}) &&
		len(want["Pragma"]) > 0 && want["Pragma"][0] == "no-cache" {
		delete(got, "Cache-Control")
	}
	if len(got) != len(want) {
		t.Errorf("%q: net/http's fields %q, wire's %q", head, got, want)
	}
	for k, vv := range want {
		if !slices.Equal(got[k], vv) {
			t.Errorf("%q: field %s: net/http %q, wire %q", head, k, got[k], vv)
		}
	}
}

func TestParseRequestAgreesWithNetHTTP(t *testing.T) {
	for _, tc := range acceptedRequests {
		var r Request
		if !ParseRequest([]byte(tc.head), &r) {
			t.Fatalf("%s: rejected", tc.name)
		}
		checkAgainstReadRequest(t, []byte(tc.head), &r)
	}
}

func requestSeeds() []string {
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\nx: 2\r\nX-y: 3\r\nx-Y: 4\r\n\r\n",
		"GET /a?%zz%%&& HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /?? HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a:b@c HTTP/1.1\r\nHost: h.\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nCookie: a=b; c=d\r\nCookie: e=f\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0 \r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nX: \t a \t \r\n\r\n",
		"get /x HTTP/1.1\r\nHost: _-.:[]\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\n\r\n",
		"GET /x HTTP/1.1\r\nHost: h\r\nContent_Length: 5\r\n\r\n",
	}
	for _, tc := range acceptedRequests {
		seeds = append(seeds, tc.head)
	}
	for _, tc := range rejectedRequests {
		seeds = append(seeds, tc.head)
	}
	return seeds
}

// FuzzParseRequest checks that every request ParseRequest accepts is read
// the same by http.ReadRequest (the anti-smuggling property), and that
// ReadHead ends such a head where net/http does.
func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		var r Request
		if !ParseRequest(head, &r) {
			return
		}
		checkAgainstReadRequest(t, head, &r)
		br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), strings.NewReader("GET / HTTP/1.1\r\n\r\n")), 16)
		got, err := ReadHead(br, nil, len(head))
		if err != nil || !bytes.Equal(got, head) {
			t.Errorf("ReadHead of %q: %q, %v", head, got, err)
		}
	})
}

// ---------------------------------------------------------------------------
// ParseResponse

type respWant struct {
	code    int
	reason  string
	length  int64
	chunked bool
	noBody  bool
	close   bool
	fields  int
}

var acceptedResponses = []struct {
	name   string
	head   string
	isHead bool
	want   respWant
}{
	{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, respWant{200, "OK", 5, false, false, false, 1}},
	{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, respWant{200, "", 0, false, false, false, 1}},
	{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, respWant{404, "", 0, false, false, false, 1}},
	{"reason with blanks and obs-text", "HTTP/1.1 500 Internal \tServer \xc3\xa9rror\r\nContent-Length: 1\r\n\r\n", false, respWant{500, "Internal \tServer \xc3\xa9rror", 1, false, false, false, 1}},
	{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", false, respWant{200, "OK", -1, true, false, false, 1}},
	{"until close", "HTTP/1.1 200 OK\r\nX: y\r\n\r\n", false, respWant{200, "OK", -1, false, false, true, 1}},
	{"HTTP/1.0 length", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n", false, respWant{200, "OK", 3, false, false, true, 1}},
	{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: Keep-Alive\r\n\r\n", false, respWant{200, "OK", 3, false, false, false, 2}},
	{"close listed", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: x, Close\r\n\r\n", false, respWant{200, "OK", 3, false, false, true, 2}},
	{"equal lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length:  3 \r\n\r\n", false, respWant{200, "OK", 3, false, false, false, 2}},
	{"leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n", false, respWant{200, "OK", 7, false, false, false, 1}},
	{"18 digits", "HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\n", false, respWant{200, "OK", 999999999999999999, false, false, false, 1}},
	{"HEAD length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, respWant{200, "OK", 100, false, true, false, 1}},
	{"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, respWant{200, "OK", -1, true, true, false, 1}},
	{"HEAD nothing", "HTTP/1.1 200 OK\r\n\r\n", true, respWant{200, "OK", -1, false, true, false, 0}},
	{"100", "HTTP/1.1 100 Continue\r\n\r\n", false, respWant{100, "Continue", -1, false, true, false, 0}},
	{"103", "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", false, respWant{103, "Early Hints", -1, false, true, false, 1}},
	{"204", "HTTP/1.1 204 No Content\r\n\r\n", false, respWant{204, "No Content", -1, false, true, false, 0}},
	{"204 length 0", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", false, respWant{204, "No Content", 0, false, true, false, 1}},
	{"304 length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, respWant{304, "Not Modified", 10, false, true, false, 1}},
	{"304 chunked", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, respWant{304, "Not Modified", -1, true, true, false, 1}},
	{"599", "HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", false, respWant{599, "x", 0, false, false, false, 1}},
}

func TestParseResponseAccepts(t *testing.T) {
	for _, tc := range acceptedResponses {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			if err := ParseResponse([]byte(tc.head), tc.isHead, &r); err != nil {
				t.Fatalf("ParseResponse(%q): %v", tc.head, err)
			}
			got := respWant{r.Code, string(r.Reason), r.Length, r.Chunked, r.NoBody, r.Close, len(r.Fields)}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			checkAgainstReadResponse(t, []byte(tc.head), tc.isHead, &r)
		})
	}
}

var rejectedResponses = []struct {
	name string
	head string
}{
	{"empty", ""},
	{"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n"},
	{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"},
	{"lower case", "http/1.1 200 OK\r\n\r\n"},
	{"short code", "HTTP/1.1 20 OK\r\n\r\n"},
	{"long code", "HTTP/1.1 2000 OK\r\n\r\n"},
	{"code 099", "HTTP/1.1 099 x\r\n\r\n"},
	{"code 600", "HTTP/1.1 600 x\r\n\r\n"},
	{"two spaces", "HTTP/1.1  200 OK\r\n\r\n"},
	{"tab", "HTTP/1.1\t200 OK\r\n\r\n"},
	{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"},
	{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"},
	{"bare LF end", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"},
	{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n"},
	{"NUL in value", "HTTP/1.1 200 OK\r\nX: \x00\r\nContent-Length: 0\r\n\r\n"},
	{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n"},
	{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"},
	{"plus length", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"},
	{"empty length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"},
	{"length list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"},
	{"19-digit length", "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000\r\n\r\n"},
	{"different lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"},
	{"lengths equal in value only", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n"},
	{"chunked and length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"},
	{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
	{"identity", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n"},
	{"HTTP/1.0 chunked", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"204 chunked", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"204 length", "HTTP/1.1 204 No Content\r\nContent-Length: 1\r\n\r\n"},
	{"bytes after head", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nx"},
}

func TestParseResponseRejects(t *testing.T) {
	for _, tc := range rejectedResponses {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			for _, head := range []bool{false, true} {
				if err := ParseResponse([]byte(tc.head), head, &r); err != ErrMalformed {
					t.Errorf("ParseResponse(%q, %v) = %v, want ErrMalformed", tc.head, head, err)
				}
			}
		})
	}
}

// TestParseResponseConnection checks the connection's fate: a close in any
// Connection field closes it, as net/http's shouldClose says.
func TestParseResponseConnection(t *testing.T) {
	for _, tc := range []struct {
		head  string
		close bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", false},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive, close\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", true},
	} {
		var r Response
		if err := ParseResponse([]byte(tc.head), false, &r); err != nil {
			t.Fatalf("%q: %v", tc.head, err)
		}
		if r.Close != tc.close {
			t.Errorf("%q: Close = %v, want %v", tc.head, r.Close, tc.close)
		}
		checkAgainstReadResponse(t, []byte(tc.head), false, &r)
	}
}

// checkAgainstReadResponse fails t unless http.ReadResponse reads the head
// r was parsed from with the same status and framing.
func checkAgainstReadResponse(t *testing.T, h []byte, head bool, r *Response) {
	t.Helper()
	method := http.MethodGet
	if head {
		method = http.MethodHead
	}
	const body = "BODY"
	br := bufio.NewReader(strings.NewReader(string(h) + body))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("ParseResponse accepts %q (HEAD %v), http.ReadResponse fails: %v", h, head, err)
	}
	if resp.StatusCode != r.Code {
		t.Errorf("%q: net/http's status %d, wire's %d", h, resp.StatusCode, r.Code)
	}
	if want := strconv.Itoa(r.Code) + " " + string(r.Reason); resp.Status != strings.TrimSuffix(want, " ") && resp.Status != want {
		t.Errorf("%q: net/http's status %q, wire's %q", h, resp.Status, want)
	}
	if chunked := slices.Equal(resp.TransferEncoding, []string{"chunked"}); chunked != r.Chunked {
		t.Errorf("%q: net/http's chunked %v, wire's %v", h, chunked, r.Chunked)
	}
	if resp.Close != r.Close {
		t.Errorf("%q: net/http's Close %v, wire's %v", h, resp.Close, r.Close)
	}
	switch {
	case r.NoBody:
		if resp.Body != http.NoBody {
			t.Errorf("%q (HEAD %v): wire reads no body, net/http does", h, head)
		}
		if head && resp.ContentLength != r.Length && !r.Chunked {
			t.Errorf("%q: HEAD: net/http's ContentLength %d, wire's %d", h, resp.ContentLength, r.Length)
		}
	case r.Chunked:
		if resp.ContentLength != -1 || resp.Body == http.NoBody {
			t.Errorf("%q: net/http's ContentLength %d", h, resp.ContentLength)
		}
	case r.Length >= 0:
		if resp.ContentLength != r.Length {
			t.Errorf("%q: net/http's ContentLength %d, wire's %d", h, resp.ContentLength, r.Length)
		}
	default:
		if resp.ContentLength != -1 || !resp.Close {
			t.Errorf("%q: wire reads to EOF, net/http ContentLength %d Close %v", h, resp.ContentLength, resp.Close)
		}
	}
	// The head ends where wire's does: the body's first byte is next.
	if rest, _ := br.Peek(br.Buffered()); string(rest) != body {
		t.Errorf("%q: http.ReadResponse's head ends elsewhere: left %q", h, rest)
	}
}

// FuzzParseResponse checks that every response head ParseResponse accepts
// is read by http.ReadResponse with the same status and framing.
func FuzzParseResponse(f *testing.F) {
	for _, tc := range acceptedResponses {
		f.Add([]byte(tc.head), tc.isHead)
	}
	for _, tc := range rejectedResponses {
		f.Add([]byte(tc.head), false)
	}
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X, Y\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTrailer: X\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.0 204 OK\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, h []byte, head bool) {
		var r Response
		if ParseResponse(h, head, &r) != nil {
			return
		}
		checkAgainstReadResponse(t, h, head, &r)
	})
}

// ---------------------------------------------------------------------------
// ReadHead

func TestReadHead(t *testing.T) {
	long := "X: " + strings.Repeat("v", 100) + "\r\n"
	for _, tc := range []struct {
		name, in string
		size     int // the bufio.Reader's
		max      int
		want     string
		err      error
	}{
		{"CRLF", "GET / HTTP/1.1\r\nHost: h\r\n\r\nNEXT", 4096, 100, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", nil},
		{"LF", "GET / HTTP/1.1\nHost: h\n\nNEXT", 4096, 100, "GET / HTTP/1.1\nHost: h\n\n", nil},
		{"CRLF LF", "GET / HTTP/1.1\r\nHost: h\r\n\nNEXT", 4096, 100, "GET / HTTP/1.1\r\nHost: h\r\n\n", nil},
		{"LF CRLF", "GET / HTTP/1.1\r\nHost: h\n\r\nNEXT", 4096, 100, "GET / HTTP/1.1\r\nHost: h\n\r\n", nil},
		{"no fields", "GET / HTTP/1.1\r\n\r\n", 4096, 100, "GET / HTTP/1.1\r\n\r\n", nil},
		{"leading blank lines", "\r\n\n\r\nGET / HTTP/1.1\r\n\r\n", 4096, 100, "GET / HTTP/1.1\r\n\r\n", nil},
		{"leading blank lines beyond max", strings.Repeat("\r\n", 100) + "GET / HTTP/1.1\r\n\r\n", 16, 20, "\r\n", ErrTooLarge}, // they count against max
		{"lines longer than the buffer", "GET / HTTP/1.1\r\n" + long + long + "\r\nNEXT", 16, 1000, "GET / HTTP/1.1\r\n" + long + long + "\r\n", nil},
		{"CR at a buffer's end", "GET / HTTP/1.1\r\nX: 0123456789\r\n\r\n", 16, 1000, "GET / HTTP/1.1\r\nX: 0123456789\r\n\r\n", nil},
		{"exactly max", "GET / HTTP/1.1\r\n\r\nNEXT", 4096, 18, "GET / HTTP/1.1\r\n\r\n", nil},
		{"one over max", "GET / HTTP/1.1\r\n\r\nNEXT", 4096, 17, "GET / HTTP/1.1\r\n\r\n", ErrTooLarge},
		{"long line over max", "GET / HTTP/1.1\r\n" + long + "\r\n", 16, 40, "", ErrTooLarge},
		{"EOF", "GET / HTTP/1.1\r\nHost: h\r\n", 4096, 100, "GET / HTTP/1.1\r\nHost: h\r\n", io.EOF},
		{"EOF in a line", "GET / HTTP/1.1\r\nHo", 4096, 100, "GET / HTTP/1.1\r\nHo", io.EOF},
		{"EOF", "", 4096, 100, "", io.EOF},
		{"only blank lines", "\r\n\r\n\n", 4096, 100, "", io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, one := range []bool{false, true} {
				var rd io.Reader = strings.NewReader(tc.in)
				if one {
					rd = iotest.OneByteReader(rd)
				}
				br := bufio.NewReaderSize(rd, tc.size)
				got, err := ReadHead(br, []byte("prefix"), tc.max)
				if err == ErrTooLarge && tc.want == "" {
					// What was read: more than max, less than all.
					if n := len(got) - len("prefix"); !strings.HasPrefix(string(got), "prefix") || n <= tc.max || n >= len(tc.in) ||
						!strings.HasPrefix(tc.in, string(got[len("prefix"):])) {
						t.Errorf("one byte reads %v: ReadHead = %q", one, got)
					}
					continue
				}
				if err != tc.err || string(got) != "prefix"+tc.want {
					t.Errorf("one byte reads %v: ReadHead = %q, %v; want %q, %v", one, got, err, "prefix"+tc.want, tc.err)
				}
			}
		})
	}
}

// TestReadHeadLongLine reads a head whose line is many times the buffer
// long, through a reader that returns a few bytes at a time.
func TestReadHeadLongLine(t *testing.T) {
	head := "GET / HTTP/1.1\r\nX: " + strings.Repeat("0123456789", 1000) + "\r\n\r\n"
	br := bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(head+"NEXT")), 16)
	got, err := ReadHead(br, nil, len(head))
	if err != nil || string(got) != head {
		t.Fatalf("ReadHead = %d bytes, %v", len(got), err)
	}
	if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
		t.Errorf("left %q", rest)
	}
	br = bufio.NewReaderSize(strings.NewReader(head), 16)
	if got, err := ReadHead(br, nil, len(head)-1); err != ErrTooLarge || len(got) > len(head) {
		t.Errorf("one over max: %d bytes, %v", len(got), err)
	}
}

func TestReadHeadErrors(t *testing.T) {
	boom := errors.New("boom")
	br := bufio.NewReader(io.MultiReader(strings.NewReader("GET / HTTP/1.1\r\n"), iotest.ErrReader(boom)))
	got, err := ReadHead(br, nil, 100)
	if err != boom || string(got) != "GET / HTTP/1.1\r\n" {
		t.Errorf("ReadHead = %q, %v", got, err)
	}
}

// ---------------------------------------------------------------------------
// CopyChunked, CopyN, CopyToEOF

// withTimeout runs f, failing t when it does not return in time: nothing
// here may hang.
func withTimeout(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("hung")
	}
}

func copyChunked(in string, size int, oneByte bool) (string, int64, int, error) {
	var rd io.Reader = strings.NewReader(in)
	if oneByte {
		rd = iotest.OneByteReader(rd)
	}
	var out bytes.Buffer
	flushes := 0
	n, err := CopyChunked(&out, bufio.NewReaderSize(rd, size), func() error { flushes++; return nil })
	return out.String(), n, flushes, err
}

var goodChunked = []struct{ name, in string }{
	{"empty", "0\r\n\r\n"},
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n"},
	{"hex sizes", "a\r\n0123456789\r\nA\r\n0123456789\r\n00\r\n\r\n"},
	{"extensions", "5;a=b;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n"},
	{"blank after the size", "5 \r\nhello\r\n0\t\r\n\r\n"},
	{"obs-text extension", "5;a=\xff\r\nhello\r\n0\r\n\r\n"},
	{"trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other:  2 \r\n\r\n"},
	{"data with CRLF", "4\r\n\r\n\r\n\r\n0\r\n\r\n"},
	{"15 digits", "000000000000005\r\nhello\r\n0\r\n\r\n"},
	{"many chunks", strings.Repeat("1\r\nx\r\n", 100) + "0\r\n\r\n"},
}

func TestCopyChunked(t *testing.T) {
	for _, tc := range goodChunked {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{64, 4096} {
				for _, one := range []bool{false, true} {
					var (
						out     string
						n       int64
						flushes int
						err     error
					)
					withTimeout(t, func() { out, n, flushes, err = copyChunked(tc.in+"NEXT", size, one) })
					if err != nil || out != tc.in || n != int64(len(tc.in)) {
						t.Errorf("size %d, one %v: %q, %d, %v", size, one, out, n, err)
					}
					if one && strings.Count(tc.in, "\r\n") > 2 && flushes == 0 {
						t.Errorf("one byte at a time: no flush")
					}
				}
			}
			if _, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(tc.in))); err != nil {
				t.Errorf("httputil: %v", err)
			}
		})
	}
}

var badChunked = []struct {
	name, in string
	err      error
}{
	{"empty", "", io.ErrUnexpectedEOF},
	{"empty size", "\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"non-hex size", "g\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"negative size", "-5\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"blank before the size", " 5\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"16 digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"overflow", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"junk after the size", "5x\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"blank before an extension", "5 ;a\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"tab before the last chunk's extension", "5\r\nhello\r\n0\t;b\r\n\r\n", ErrChunk},
	{"junk after a blank", "5 x\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"second size after a blank", "5 0\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"control in extension", "5;a\x01\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"bare CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"bare LF size line", "5\nhello\r\n0\r\n\r\n", ErrChunk},
	{"no CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", ErrChunk},
	{"LF after data", "5\r\nhello\n0\r\n\r\n", ErrChunk},
	{"data short", "5\r\nhell\r\n0\r\n\r\n", ErrChunk},
	{"long size line", "5;" + strings.Repeat("a", 5000) + "\r\nhello\r\n0\r\n\r\n", ErrChunk},
	{"bad trailer", "0\r\nX Y: 1\r\n\r\n", ErrChunk},
	{"trailer without colon", "0\r\nX\r\n\r\n", ErrChunk},
	{"folded trailer", "0\r\nX: 1\r\n 2\r\n\r\n", ErrChunk},
	{"bare LF trailer", "0\r\nX: 1\n\r\n", ErrChunk},
	{"bare LF end", "0\r\n\n", ErrChunk},
	{"too many trailers", "0\r\n" + strings.Repeat("X: 1\r\n", 200) + "\r\n", ErrChunk},
	{"truncated size line", "5", io.ErrUnexpectedEOF},
	{"truncated data", "5\r\nhel", io.ErrUnexpectedEOF},
	{"truncated after data", "5\r\nhello", io.ErrUnexpectedEOF},
	{"truncated after data CR", "5\r\nhello\r", io.ErrUnexpectedEOF},
	{"no last chunk", "5\r\nhello\r\n", io.ErrUnexpectedEOF},
	{"no trailer end", "5\r\nhello\r\n0\r\n", io.ErrUnexpectedEOF},
	{"truncated trailer", "0\r\nX: 1\r\n", io.ErrUnexpectedEOF},
	{"huge size, truncated", "fffffffffffffff\r\nhello", io.ErrUnexpectedEOF},
}

func TestCopyChunkedErrors(t *testing.T) {
	for _, tc := range badChunked {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{64, 4096} {
				for _, one := range []bool{false, true} {
					var (
						out string
						n   int64
						err error
					)
					withTimeout(t, func() { out, n, _, err = copyChunked(tc.in, size, one) })
					if err == nil {
						t.Fatalf("size %d, one %v: no error; wrote %q", size, one, out)
					}
					if size == 4096 && err != tc.err {
						t.Errorf("one %v: error %v, want %v", one, err, tc.err)
					}
					if n != int64(len(out)) || !strings.HasPrefix(tc.in, out) {
						t.Errorf("size %d, one %v: wrote %q (%d)", size, one, out, n)
					}
				}
			}
		})
	}
}

type errWriter struct {
	n   int // bytes accepted before failing
	err error
}

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	n := w.n
	w.n = 0
	return n, w.err
}

func TestCopyChunkedWriteAndFlushErrors(t *testing.T) {
	in := "5\r\nhello\r\n5\r\nworld\r\n0\r\nX: 1\r\n\r\n"
	boom := errors.New("boom")
	for k := range len(in) {
		n, err := CopyChunked(&errWriter{n: k, err: boom}, bufio.NewReader(strings.NewReader(in)), func() error { return nil })
		if err != boom || n != int64(k) {
			t.Errorf("writer failing after %d bytes: %d, %v", k, n, err)
		}
	}
	n, err := CopyChunked(io.Discard, bufio.NewReader(iotest.OneByteReader(strings.NewReader(in))), func() error { return boom })
	if err != boom || n > int64(len(in)) {
		t.Errorf("failing flush: %d, %v", n, err)
	}
}

func TestCopyN(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		in   string
		n    int64
		out  string
		err  error
	}{
		{"zero", "abc", 0, "", nil},
		{"some", "abcdef", 3, "abc", nil},
		{"all", "abcdef", 6, "abcdef", nil},
		{"across buffers", strings.Repeat("x", 100), 99, strings.Repeat("x", 99), nil},
		{"short", "abc", 4, "abc", io.ErrUnexpectedEOF},
		{"empty", "", 1, "", io.ErrUnexpectedEOF},
	} {
		for _, one := range []bool{false, true} {
			var rd io.Reader = strings.NewReader(tc.in)
			if one {
				rd = iotest.OneByteReader(rd)
			}
			br := bufio.NewReaderSize(rd, 16)
			var out bytes.Buffer
			var n int64
			var err error
			withTimeout(t, func() { n, err = CopyN(&out, br, tc.n, func() error { return nil }) })
			if out.String() != tc.out || n != int64(len(tc.out)) || err != tc.err {
				t.Errorf("%s, one %v: %q, %d, %v", tc.name, one, out.String(), n, err)
			}
			if tc.err == nil {
				rest, _ := io.ReadAll(br)
				if string(rest) != tc.in[tc.n:] {
					t.Errorf("%s: left %q", tc.name, rest)
				}
			}
		}
	}
	// Write and flush errors, and a flush before each wait for data.
	br := bufio.NewReaderSize(strings.NewReader("abcdef"), 16)
	if n, err := CopyN(&errWriter{n: 2, err: boom}, br, 6, func() error { return nil }); n != 2 || err != boom {
		t.Errorf("failing writer: %d, %v", n, err)
	}
	br = bufio.NewReaderSize(strings.NewReader("abcdef"), 16)
	if n, err := CopyN(io.Discard, br, 6, func() error { return boom }); n != 0 || err != boom {
		t.Errorf("failing flush: %d, %v", n, err)
	}
	var events []string
	rec := &recorder{events: &events}
	br = bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader("abc")), 16)
	CopyN(rec, br, 3, func() error { events = append(events, "flush"); return nil })
	if want := []string{"flush", "a", "flush", "b", "flush", "c"}; !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}

type recorder struct{ events *[]string }

func (r *recorder) Write(p []byte) (int, error) {
	*r.events = append(*r.events, string(p))
	return len(p), nil
}

func TestCopyToEOF(t *testing.T) {
	boom := errors.New("boom")
	for _, in := range []string{"", "a", strings.Repeat("xyz", 100)} {
		for _, one := range []bool{false, true} {
			var rd io.Reader = strings.NewReader(in)
			if one {
				rd = iotest.OneByteReader(rd)
			}
			var out bytes.Buffer
			var n int64
			var err error
			withTimeout(t, func() { n, err = CopyToEOF(&out, bufio.NewReaderSize(rd, 16), func() error { return nil }) })
			if out.String() != in || n != int64(len(in)) || err != nil {
				t.Errorf("%d bytes, one %v: %d, %v", len(in), one, n, err)
			}
		}
	}
	br := bufio.NewReaderSize(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 16)
	var out bytes.Buffer
	if n, err := CopyToEOF(&out, br, func() error { return nil }); n != 3 || err != boom || out.String() != "abc" {
		t.Errorf("read error: %d, %v, %q", n, err, out.String())
	}
	br = bufio.NewReaderSize(strings.NewReader("abcdef"), 16)
	if n, err := CopyToEOF(&errWriter{n: 4, err: boom}, br, func() error { return nil }); n != 4 || err != boom {
		t.Errorf("failing writer: %d, %v", n, err)
	}
	br = bufio.NewReaderSize(strings.NewReader("abcdef"), 16)
	if n, err := CopyToEOF(io.Discard, br, func() error { return boom }); n != 0 || err != boom {
		t.Errorf("failing flush: %d, %v", n, err)
	}
}

// decodeChunked decodes a chunked body that CopyChunked accepted, without
// its trailers, by the chunk sizes alone.
func decodeChunked(b []byte) ([]byte, error) {
	var data []byte
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil, errors.New("no size line")
		}
		size, ok := chunkSize(b[:i+1])
		if !ok {
			return nil, fmt.Errorf("bad size line %q", b[:i+1])
		}
		b = b[i+1:]
		if size == 0 {
			return data, nil
		}
		if int64(len(b)) < size+2 {
			return nil, errors.New("short chunk")
		}
		data = append(data, b[:size]...)
		b = b[size+2:]
	}
}

// FuzzCopyChunked checks that a chunked body CopyChunked accepts is copied
// as it is, and read by net/http (httputil.NewChunkedReader, then the
// trailers as net/http's body reads them) to the same data and to the same
// end.
func FuzzCopyChunked(f *testing.F) {
	for _, tc := range goodChunked {
		f.Add([]byte(tc.in + "NEXT"))
	}
	for _, tc := range badChunked {
		f.Add([]byte(tc.in))
	}
	for _, s := range []string{
		"1 ;\r\nx\r\n0\r\n\r\n",
		"1;a=\"\\\"\"\r\nx\r\n0\r\n\r\n",
		"1\r\nx\r\n0\r\nContent-Length: 5\r\n\r\n",
		"2\r\n\r\n\r\n0\r\n\r\n\r\n",
		"0\r\n\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		n, err := CopyChunked(&out, bufio.NewReader(bytes.NewReader(in)), func() error { return nil })
		if n != int64(out.Len()) || !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("%q: wrote %q (%d), not a prefix of the input", in, out.Bytes(), n)
		}
		rd := bytes.NewReader(in)
		br := bufio.NewReader(rd)
		data, herr := io.ReadAll(httputil.NewChunkedReader(br))
		if err != nil {
			return
		}
		if herr != nil {
			t.Fatalf("CopyChunked accepts %q, httputil's reader fails: %v", in, herr)
		}
		if got, derr := decodeChunked(out.Bytes()); derr != nil || !bytes.Equal(got, data) {
			t.Fatalf("%q: data %q (%v), httputil's %q", in, got, derr, data)
		}
		// The trailers, as net/http's body.readTrailer reads them.
		if b, _ := br.Peek(2); string(b) == "\r\n" {
			br.Discard(2)
		} else if _, terr := textproto.NewReader(br).ReadMIMEHeader(); terr != nil {
			t.Fatalf("CopyChunked accepts %q, net/http fails on its trailers: %v", in, terr)
		}
		if end := len(in) - rd.Len() - br.Buffered(); end != out.Len() {
			t.Fatalf("%q: CopyChunked ends at %d, net/http at %d", in, out.Len(), end)
		}
	})
}

func TestParseResponseAllocs(t *testing.T) {
	h := []byte("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: keep-alive\r\nTrailer: X\r\n\r\n")
	var r Response
	if n := testing.AllocsPerRun(100, func() { ParseResponse(h, false, &r) }); n != 0 {
		t.Errorf("ParseResponse allocates %v times", n)
	}
}

// Blank lines before a head count against the limit: an endless stream of
// them ends with ErrTooLarge, not only with a read deadline.
func TestReadHeadBlankLinesCount(t *testing.T) {
	br := bufio.NewReader(strings.NewReader(strings.Repeat("\r\n", 100) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if _, err := ReadHead(br, nil, 150); err != ErrTooLarge {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	br = bufio.NewReader(strings.NewReader(strings.Repeat("\r\n", 10) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	if h, err := ReadHead(br, nil, 150); err != nil || string(h) != "GET / HTTP/1.1\r\nHost: a\r\n\r\n" {
		t.Fatalf("ReadHead = %q, %v", h, err)
	}
}
