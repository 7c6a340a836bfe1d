// Command ratios reads `go test -bench` output (several -count runs, any
// -cpu list) and prints a markdown table with, for every benchmark that has
// a "bulwark" sub-benchmark, bulwark's median ns/op and allocs/op and its
// speed-up over every other sub-benchmark of the same group: peer's median
// ns/op divided by bulwark's, so 4.0× means bulwark takes a quarter of the
// peer's time and 0.5× means it takes twice as long.
//
// Usage:
//
//	go run ./cmd/ratios < results.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

type key struct {
	group, lib string
	cpu        int
}

type sample struct {
	ns     []float64
	allocs []float64
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

func run(r io.Reader, w io.Writer) error {
	samples := map[key]*sample{}
	var order []key
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, ns, allocs, ok := parse(sc.Text())
		if !ok {
			continue
		}
		s := samples[k]
		if s == nil {
			s = &sample{}
			samples[k] = s
			order = append(order, k)
		}
		s.ns = append(s.ns, ns)
		s.allocs = append(s.allocs, allocs)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintln(w, "| benchmark | cpu | bulwark ns/op | bulwark allocs/op | peers: speed-up of bulwark (peer ns/op ÷ bulwark ns/op), peer allocs/op |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, k := range order {
		if k.lib != "bulwark" && !strings.HasPrefix(k.lib, "bulwark-") {
			continue
		}
		bw := samples[k]
		bns := median(bw.ns)
		var peers []string
		for _, p := range order {
			if p.group != k.group || p.cpu != k.cpu || p.lib == k.lib || strings.HasPrefix(p.lib, "bulwark") {
				continue
			}
			ps := samples[p]
			peers = append(peers, fmt.Sprintf("%s %.2f× (%g allocs)", p.lib, median(ps.ns)/bns, median(ps.allocs)))
		}
		name := k.group
		if k.lib != "bulwark" {
			name += " (" + k.lib + ")"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %g | %s |\n", name, k.cpu, fmtNs(bns), median(bw.allocs), strings.Join(peers, "; "))
	}
	return nil
}

// parse reads one result line such as
// "BenchmarkBreakerClosed/gobreaker-2  1000  169.7 ns/op  0 B/op  0 allocs/op".
func parse(line string) (k key, ns, allocs float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return k, 0, 0, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	k.cpu = 1
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			k.cpu, name = n, name[:i]
		}
	}
	k.group, k.lib = name, ""
	if i := strings.IndexByte(name, '/'); i > 0 {
		k.group, k.lib = name[:i], name[i+1:]
	}
	allocs = -1
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		switch f[i+1] {
		case "ns/op":
			ns, ok = v, true
		case "allocs/op":
			allocs = v
		}
	}
	return k, ns, allocs, ok
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func fmtNs(ns float64) string {
	switch {
	case ns < 10:
		return strconv.FormatFloat(ns, 'f', 2, 64)
	case ns < 1000:
		return strconv.FormatFloat(ns, 'f', 1, 64)
	}
	return strconv.FormatFloat(ns, 'f', 0, 64)
}
