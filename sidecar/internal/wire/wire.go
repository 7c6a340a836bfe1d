// Package wire reads and checks HTTP/1.1 message heads and bodies as bytes,
// for the sidecar's fast path (sidecar/fast.go).
//
// It is strict by design. ParseRequest accepts only a plain subset of what
// RFC 9112 allows (an origin-form target with a clean path, token header
// names, values without control characters, no line folding, no body) and
// reports anything else as not fast; the caller then hands the request to
// net/http, which applies its own checks. ParseResponse rejects, as an
// upstream's protocol error, any head a careful proxy would not forward.
// Nothing here allocates per message beyond the caller's reused buffers.
package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Field is one header line of a head: its name and value (without
// surrounding blanks), both slices of the head.
type Field struct {
	Name, Value []byte
}

// ErrTooLarge is returned by ReadHead for a head longer than its limit.
var ErrTooLarge = errors.New("wire: message head too large")

// ReadHead appends to dst the bytes of one message head read from br, up to
// and including the blank line that ends it, and returns them. It fails
// with ErrTooLarge, returning what it read, once the head would pass max
// bytes (blank lines before it included); a read error is returned as it
// is, with what was read.
func ReadHead(br *bufio.Reader, dst []byte, max int) ([]byte, error) {
	start := len(dst)
	skipped := 0 // blank lines before the head count against max
	for {
		line, err := br.ReadSlice('\n')
		if skipped+len(dst)-start+len(line) > max {
			return append(dst, line...), ErrTooLarge
		}
		dst = append(dst, line...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err != nil:
			return dst, err
		}
		n := len(dst) - start
		if n == 2 && dst[start] == '\r' || n == 1 {
			// Blank lines before a request line (RFC 9112, 2.2): skip.
			skipped += n
			dst = dst[:start]
			continue
		}
		// A blank line ends the head, CRLF or LF after a line ending in
		// either (as net/http reads it): "\n\r\n" covers "\r\n\r\n".
		if bytes.HasSuffix(dst[start:], []byte("\n\r\n")) || bytes.HasSuffix(dst[start:], []byte("\n\n")) {
			return dst, nil
		}
	}
}

// Request is the parsed head of a request the fast path can serve.
type Request struct {
	Method []byte
	Target []byte // path and query, as sent
	Path   []byte // Target up to '?'
	Query  []byte // after '?', without it; nil when there is none
	Host   []byte
	Fields []Field // every header field but Host, in order
	Close  bool    // Connection: close
}

// ParseRequest parses head, a request head read by ReadHead, into r (its
// Fields reused), and reports whether the fast path may serve it. It
// reports false for anything but an HTTP/1.1 request whose target is a
// clean absolute path (no "." or ".." segment, no empty segment, no '%' in
// the path, no backslash), with exactly one valid Host, no body (no
// Transfer-Encoding, Content-Length absent or one of 0), no Expect, Upgrade, TE or
// Trailer, a Connection of only "close" or "keep-alive", and header lines
// that are well-formed tokens and values ending in CRLF.
func ParseRequest(head []byte, r *Request) bool {
	*r = Request{Fields: r.Fields[:0]}
	line, rest, ok := cutLine(head)
	if !ok {
		return false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return false
	}
	r.Method = line[:sp]
	line = line[sp+1:]
	sp = bytes.IndexByte(line, ' ')
	if sp <= 0 || string(line[sp+1:]) != "HTTP/1.1" {
		return false
	}
	r.Target = line[:sp]
	if !parseTarget(r) {
		return false
	}
	fields, ok := parseFields(rest, r.Fields)
	r.Fields = fields
	if !ok {
		return false
	}
	hosts, lengths := 0, 0
	n := 0
	for _, f := range fields {
		switch {
		case equalFold(f.Name, "host"):
			hosts++
			r.Host = f.Value
			continue
		case equalFold(f.Name, "content-length"):
			// Only one: net/http merges equal ones into one field,
			// which would not be the fields forwarded here.
			lengths++
			if string(f.Value) != "0" || lengths > 1 {
				return false
			}
		case equalFold(f.Name, "connection"):
			switch {
			case equalFold(f.Value, "close"):
				r.Close = true
			case equalFold(f.Value, "keep-alive"):
			default:
				return false
			}
		case equalFold(f.Name, "transfer-encoding"), equalFold(f.Name, "expect"), equalFold(f.Name, "upgrade"),
			equalFold(f.Name, "te"), equalFold(f.Name, "trailer"), equalFold(f.Name, "http2-settings"):
			return false
		}
		fields[n] = f
		n++
	}
	r.Fields = fields[:n]
	return hosts == 1 && validHost(r.Host)
}

// parseTarget splits r.Target into path and query, and reports whether it
// is one the fast path routes as is.
func parseTarget(r *Request) bool {
	t := r.Target
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	path := t
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		path, r.Query = t[:q], t[q+1:]
		if !validQuery(r.Query) {
			return false
		}
	}
	r.Path = path
	for i, c := range path {
		if !pathChar[c] {
			return false
		}
		if c != '/' {
			continue
		}
		// An empty, "." or ".." segment would be cleaned by the proxy
		// (cleanRequestPath): net/http's path does that.
		seg := path[i+1:]
		if j := bytes.IndexByte(seg, '/'); j >= 0 {
			seg = seg[:j]
		} else if len(seg) == 0 {
			continue // a trailing slash
		}
		if len(seg) == 0 || string(seg) == "." || string(seg) == ".." {
			return false
		}
	}
	return true
}

// validQuery reports whether q is a query net/url parses without an error
// (no ';', each '%' followed by two hex digits), so that ReverseProxy would
// forward it as it is: it drops the parameters of a query it cannot parse.
func validQuery(q []byte) bool {
	for i := 0; i < len(q); i++ {
		c := q[i]
		if !queryChar[c] {
			return false
		}
		if c == '%' {
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// Response is the parsed head of an upstream's response.
type Response struct {
	Code   int
	Reason []byte
	Fields []Field // every header field, in order
	// The body's framing: Length bytes (Length >= 0), chunked, or until
	// the connection closes (Length -1, not Chunked). NoBody is set for
	// 1xx, 204 and 304 and when the caller said the request was a HEAD.
	Length  int64
	Chunked bool
	NoBody  bool
	Close   bool // the upstream closes the connection after this response
}

// ErrMalformed is the error of a response head the fast path does not
// forward.
var ErrMalformed = errors.New("wire: malformed response head")

// ParseResponse parses head, a response head read by ReadHead, into r (its
// Fields reused). head is the answer to a HEAD request when head is set.
func ParseResponse(h []byte, head bool, r *Response) error {
	*r = Response{Fields: r.Fields[:0], Length: -1}
	line, rest, ok := cutLine(h)
	if !ok || len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '1' && line[7] != '0') || line[8] != ' ' {
		return ErrMalformed
	}
	http10 := line[7] == '0'
	c := line[9:12]
	if c[0] < '1' || c[0] > '5' || c[1] < '0' || c[1] > '9' || c[2] < '0' || c[2] > '9' {
		return ErrMalformed
	}
	r.Code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	if len(line) > 12 {
		if line[12] != ' ' {
			return ErrMalformed
		}
		r.Reason = line[13:]
		for _, b := range r.Reason {
			if !valueChar[b] {
				return ErrMalformed
			}
		}
	}
	fields, ok := parseFields(rest, r.Fields)
	r.Fields = fields
	if !ok {
		return ErrMalformed
	}
	var length []byte // the first Content-Length
	lengths := 0
	closes, keepAlive := false, false
	for _, f := range fields {
		switch {
		case equalFold(f.Name, "content-length"):
			// Several must be equal as sent, as net/http wants them.
			n, ok := parseLength(f.Value)
			if !ok || lengths > 0 && !bytes.Equal(f.Value, length) {
				return ErrMalformed
			}
			lengths++
			r.Length, length = n, f.Value
		case equalFold(f.Name, "transfer-encoding"):
			if !equalFold(f.Value, "chunked") || r.Chunked {
				return ErrMalformed
			}
			r.Chunked = true
		case equalFold(f.Name, "connection"):
			// A close in any field wins (net/http's shouldClose).
			closes = closes || hasToken(f.Value, "close")
			keepAlive = keepAlive || hasToken(f.Value, "keep-alive")
		case equalFold(f.Name, "trailer"):
			// Framing fields announced as trailers: net/http refuses them.
			if hasToken(f.Value, "content-length") || hasToken(f.Value, "transfer-encoding") || hasToken(f.Value, "trailer") {
				return ErrMalformed
			}
		}
	}
	r.Close = closes || http10 && !keepAlive
	if r.Chunked {
		if lengths > 0 || http10 {
			return ErrMalformed // both framings, or chunked from HTTP/1.0: smuggling's shapes
		}
		r.Length = -1
	}
	r.NoBody = head || r.Code < 200 || r.Code == 204 || r.Code == 304
	if r.Code == 204 && (r.Chunked || r.Length > 0) {
		return ErrMalformed
	}
	if !r.NoBody && !r.Chunked && r.Length < 0 {
		r.Close = true // the body ends when the connection does
	}
	return nil
}

// cutLine returns the first line of b without its CRLF, and the rest.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	return b[:i-1], b[i+1:], true
}

// parseFields parses the header lines of b (ending with the blank line)
// into fields. Lines must end in CRLF; a line starting with a blank (an
// obsolete folding), a name that is not a token or a value with a control
// character other than HTAB fails.
func parseFields(b []byte, fields []Field) ([]Field, bool) {
	for {
		line, rest, ok := cutLine(b)
		if !ok {
			return fields, false
		}
		if len(line) == 0 {
			return fields, len(rest) == 0
		}
		if !validField(line) {
			return fields, false
		}
		colon := bytes.IndexByte(line, ':')
		fields = append(fields, Field{Name: line[:colon], Value: trim(line[colon+1:])})
		b = rest
	}
}

// validField reports whether line (without its CRLF) is a header field: a
// token, a colon, and a value without control characters but HTAB.
func validField(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return false
	}
	for _, c := range line[colon+1:] {
		if !valueChar[c] {
			return false
		}
	}
	return true
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength parses a Content-Length value: decimal digits only, at most
// 18 of them (no overflow).
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v has token t,
// case-insensitively.
func hasToken(v []byte, t string) bool { return ListHas(v, []byte(t)) }

// ListHas reports whether the comma-separated list v (a Connection value)
// has the item name, both compared without regard to ASCII case.
func ListHas(v, name []byte) bool {
	for len(v) > 0 {
		var item []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, nil
		}
		if item = trim(item); len(item) == len(name) && bytes.EqualFold(item, name) {
			return true
		}
	}
	return false
}

// equalFold reports whether b equals the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// EqualFold reports whether b equals the lower-case ASCII s, ignoring case.
func EqualFold(b []byte, s string) bool { return equalFold(b, s) }

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

// validHost reports whether h is a host[:port] the fast path accepts:
// letters, digits, '-', '.', '_' and a port, or a bracketed IPv6 literal.
func validHost(h []byte) bool {
	if len(h) == 0 || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !hostChar[c] {
			return false
		}
	}
	return true
}

var tokenChar, valueChar, pathChar, queryChar, hostChar [256]bool

func init() {
	for c := range 256 {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		tokenChar[c] = alnum || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0
		valueChar[c] = c == '\t' || c >= 0x20 && c != 0x7f
		// Not "!'()*": net/url escapes them in a path it rebuilds
		// (strip_prefix), so they would not reach the upstream as sent.
		pathChar[c] = alnum || bytes.IndexByte([]byte("-._~$&+,;=:@/"), byte(c)) >= 0
		queryChar[c] = c != ';' && (pathChar[c] || bytes.IndexByte([]byte("?%!'()*"), byte(c)) >= 0)
		hostChar[c] = alnum || bytes.IndexByte([]byte("-._:[]"), byte(c)) >= 0
	}
}

// ErrChunk is the error of a malformed chunked body.
var ErrChunk = errors.New("wire: malformed chunked body")

// maxChunkLine bounds a chunk-size line (with its extensions) and a trailer
// line.
const maxChunkLine = 4096

// CopyChunked copies a chunked body from br to w as it is (sizes,
// extensions, data, trailers and the final blank line), checking its
// framing, and returns the bytes written. flush is called whenever br has
// nothing more buffered, so that what arrived reaches the client before
// the proxy waits for more.
func CopyChunked(w io.Writer, br *bufio.Reader, flush func() error) (int64, error) {
	var total int64
	for {
		line, err := chunkLine(br)
		if err != nil {
			return total, err
		}
		size, ok := chunkSize(line)
		if !ok {
			return total, ErrChunk
		}
		n, err := w.Write(line)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if size == 0 {
			return copyTrailers(w, br, total)
		}
		m, err := copyN(w, br, size, flush)
		total += m
		if err != nil {
			return total, err
		}
		crlf, err := br.Peek(2)
		if err != nil {
			return total, unexpected(err)
		}
		if crlf[0] != '\r' || crlf[1] != '\n' {
			return total, ErrChunk
		}
		br.Discard(2)
		n, err = w.Write(crlf0)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if br.Buffered() == 0 {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
}

var crlf0 = []byte("\r\n")

func copyTrailers(w io.Writer, br *bufio.Reader, total int64) (int64, error) {
	for lines := 0; ; lines++ {
		line, err := chunkLine(br)
		if err != nil {
			return total, err
		}
		if lines > 100 {
			return total, ErrChunk
		}
		if len(line) > 2 && !validField(line[:len(line)-2]) {
			return total, ErrChunk
		}
		n, err := w.Write(line)
		total += int64(n)
		if err != nil || len(line) == 2 {
			return total, err
		}
	}
}

// chunkLine reads one CRLF-terminated line of a chunked body.
func chunkLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull || len(line) > maxChunkLine:
		return nil, ErrChunk
	case err != nil:
		return nil, unexpected(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return nil, ErrChunk
	}
	return line, nil
}

// chunkSize parses the hexadecimal size at the start of a chunk-size line
// (at most 15 digits: no overflow), before any extension (";" right after
// the size) or trailing blanks.
func chunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			goto end
		}
		if i == 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
end:
	if i == 0 {
		return 0, false
	}
	rest := line[i : len(line)-2]
	// An extension follows the size at once: net/http refuses blanks
	// between them (the BWS RFC 9112 allows), and takes a size followed
	// by blanks and more for a bad size. Trailing blanks it ignores.
	if len(trim(rest)) > 0 && rest[0] != ';' {
		return 0, false
	}
	for _, c := range rest {
		if !valueChar[c] {
			return 0, false
		}
	}
	return n, true
}

// CopyN copies n bytes from br to w, calling flush whenever br has nothing
// more buffered, and returns the bytes copied.
func CopyN(w io.Writer, br *bufio.Reader, n int64, flush func() error) (int64, error) {
	return copyN(w, br, n, flush)
}

func copyN(w io.Writer, br *bufio.Reader, n int64, flush func() error) (int64, error) {
	var total int64
	for total < n {
		if br.Buffered() == 0 {
			if err := flush(); err != nil {
				return total, err
			}
		}
		b, err := br.Peek(1)
		if err != nil {
			return total, unexpected(err)
		}
		b, _ = br.Peek(br.Buffered())
		if int64(len(b)) > n-total {
			b = b[:n-total]
		}
		m, err := w.Write(b)
		br.Discard(m)
		total += int64(m)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// CopyToEOF copies what br has until it ends, calling flush whenever br has
// nothing more buffered.
func CopyToEOF(w io.Writer, br *bufio.Reader, flush func() error) (int64, error) {
	var total int64
	for {
		if br.Buffered() == 0 {
			if err := flush(); err != nil {
				return total, err
			}
		}
		b, err := br.Peek(1)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		b, _ = br.Peek(br.Buffered())
		m, err := w.Write(b)
		br.Discard(m)
		total += int64(m)
		if err != nil {
			return total, err
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
