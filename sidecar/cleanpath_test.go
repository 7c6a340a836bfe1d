package sidecar

import (
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"", "/"},
		{"/api/expensive", "/api/expensive"},
		{"/api/x/../expensive", "/api/expensive"},
		{"/api//expensive", "/api/expensive"},
		{"/api/./expensive", "/api/expensive"},
		{"//api/expensive", "/api/expensive"},
		{"/api/expensive/", "/api/expensive/"},
		{"/api/expensive/.", "/api/expensive"},
		{"/../../etc", "/etc"},
		{"/a/..", "/"},
		{"/a/b/../", "/a/"},
		{"api", "/api"},
		{"/a..b/.c/", "/a..b/.c/"},
	}
	for _, tc := range tests {
		if got := cleanPath(tc.in); got != tc.want {
			t.Errorf("cleanPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if refusedPath(tc.in) {
			t.Errorf("refusedPath(%q) = true, want false", tc.in)
		}
	}
	// URL paths are decoded: "%5C" arrives as a backslash.
	for _, p := range []string{`/a/..\api\expensive`, `\`, `/api\`, `\api/x`} {
		if !refusedPath(p) {
			t.Errorf("refusedPath(%q) = false, want true", p)
		}
	}
}

// FuzzCleanPath: a cleaned path is rooted, has no empty, "." or ".."
// segment, and cleaning it again changes nothing.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/api/x/../y", "//a//b/", "/./.", "a/b", "/..", "/a/.../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		c := cleanPath(p)
		if !strings.HasPrefix(c, "/") {
			t.Fatalf("cleanPath(%q) = %q: not rooted", p, c)
		}
		if needsCleaning(c) {
			t.Fatalf("cleanPath(%q) = %q: still has an empty or dot segment", p, c)
		}
		if again := cleanPath(c); again != c {
			t.Fatalf("cleanPath(%q) = %q, then %q", p, c, again)
		}
		for _, seg := range strings.Split(strings.Trim(c, "/"), "/") {
			if seg == "." || seg == ".." || (seg == "" && c != "/") {
				t.Fatalf("cleanPath(%q) = %q has segment %q", p, c, seg)
			}
		}
	})
}
