package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

// direct is the experiment's upstream client: one request at a time per
// connection, written and read on the caller's goroutine; connections whose
// response body was read to the end go back to a pool.
type direct struct{ idle chan *pconn }

type pconn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (d *direct) RoundTrip(req *http.Request) (*http.Response, error) {
	var pc *pconn
	select {
	case pc = <-d.idle:
	default:
		c, err := net.Dial("tcp", req.URL.Host)
		if err != nil {
			return nil, err
		}
		pc = &pconn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096)}
	}
	if err := req.Write(pc.bw); err != nil {
		pc.c.Close()
		return nil, err
	}
	if err := pc.bw.Flush(); err != nil {
		pc.c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(pc.br, req)
	if err != nil {
		pc.c.Close()
		return nil, err
	}
	resp.Body = &body{rc: resp.Body, pc: pc, d: d, keep: !resp.Close}
	return resp, nil
}

type body struct {
	rc   io.ReadCloser
	pc   *pconn
	d    *direct
	keep bool
	eof  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if b.pc == nil {
		return nil
	}
	pooled := false
	if b.eof && b.keep {
		select {
		case b.d.idle <- b.pc:
			pooled = true
		default:
		}
	}
	if !pooled {
		b.pc.c.Close()
	}
	b.pc = nil
	return nil
}
