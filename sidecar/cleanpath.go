package sidecar

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// cleanRequestPath returns req, or a shallow copy of it whose URL path has
// its dot segments resolved and its empty segments removed ("/api/x/../b",
// "/api//b" and "/api/./b" all become "/api/b"), keeping a trailing slash.
// The proxy routes on the cleaned path and forwards it, so that no
// spelling of a path can reach a route's upstream past a stricter route
// (and its limits) for the same path. Percent-encoded dots are decoded
// before cleaning; a path with an encoded slash ("%2F") loses the encoding.
func cleanRequestPath(req *http.Request) *http.Request {
	p := req.URL.Path
	c := cleanPath(p)
	if c == p {
		return req
	}
	out := new(http.Request)
	*out = *req
	u := new(url.URL)
	*u = *req.URL
	u.Path, u.RawPath = c, ""
	out.URL = u
	return out
}

// refusedPath reports whether the decoded URL path p has a backslash,
// raw or percent-encoded ("%5C"). Such a path is refused, not cleaned: an
// upstream that reads a backslash as "/" would serve a stricter route's
// path ("/a/..\api\expensive") without that route's limits.
func refusedPath(p string) bool {
	return strings.IndexByte(p, '\\') >= 0
}

// cleanPath is path.Clean for a URL path: rooted, with a trailing slash
// kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if !needsCleaning(p) {
		return p
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// needsCleaning reports whether p is not rooted or has an empty, "." or
// ".." segment; most paths have none, and are checked without allocating.
func needsCleaning(p string) bool {
	if p[0] != '/' {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		switch {
		case strings.HasPrefix(rest, "/"):
			return true
		case rest == "." || strings.HasPrefix(rest, "./"):
			return true
		case rest == ".." || strings.HasPrefix(rest, "../"):
			return true
		}
	}
	return false
}
