package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
)

// serveH1 is the experiment's server: a goroutine per connection that
// reads a request, calls h and writes the answer (Content-Length when h set
// it, chunked otherwise), one request at a time.
func serveH1(ln net.Listener, h http.Handler) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(c, h)
	}
}

func serveConn(c net.Conn, h http.Handler) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriterSize(c, 4096)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		req.RemoteAddr = c.RemoteAddr().String()
		w := &writer{h: make(http.Header), bw: bw}
		h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK)
		if w.chunked {
			bw.WriteString("0\r\n\r\n")
		}
		io.Copy(io.Discard, req.Body)
		if bw.Flush() != nil {
			return
		}
	}
}

type writer struct {
	h       http.Header
	bw      *bufio.Writer
	wrote   bool
	chunked bool
}

func (w *writer) Header() http.Header { return w.h }

func (w *writer) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return
	}
	w.wrote = true
	w.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	if w.h.Get("Content-Length") == "" {
		w.chunked = true
		w.h.Set("Transfer-Encoding", "chunked")
	}
	w.h.Write(w.bw)
	w.bw.WriteString("\r\n")
}

func (w *writer) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if !w.chunked {
		return w.bw.Write(p)
	}
	if len(p) > 0 {
		w.bw.WriteString(strconv.FormatInt(int64(len(p)), 16) + "\r\n")
		w.bw.Write(p)
		w.bw.WriteString("\r\n")
	}
	return len(p), nil
}

func (w *writer) Flush() { w.bw.Flush() }
