// Command engines measures the sidecar's cost per request on other HTTP/1.1
// engines than its own, for bench/proxy/run.sh: it runs the same sidecar
// (sidecar.Open, every policy of the config) with
//
//	-client transport  net/http's http.Transport as the upstream client
//	                   (per-connection read and write loops), as before
//	                   the sidecar had its own (sidecar/internal/h1);
//	-server h1         a server loop that reads requests with
//	                   http.ReadRequest and answers on the connection's
//	                   goroutine, instead of http.Server (no background
//	                   read per request).
//
// The h1 server is an experiment, not a product: it skips what a real one
// needs (deadlines, header size limits, upgrades, HTTP/1.0 and Connection
// handling, the checks net/http makes on malformed requests, graceful
// shutdown), so it bounds from below what such an engine could save while
// the data path keeps net/http's Request and Response types, shared with
// bulwarkhttp. Stop it with SIGKILL.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"runtime/debug"

	"github.com/bulwark-go/bulwark/sidecar"
)

func main() {
	config := flag.String("config", "", "config file")
	client := flag.String("client", "h1", "upstream client: h1 (the sidecar's own) or transport (net/http's)")
	server := flag.String("server", "nethttp", "server: nethttp or h1")
	flag.Parse()
	debug.SetGCPercent(400) // as bulwark run
	var opts sidecar.Options
	switch *client {
	case "transport":
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		opts.Transport = t
	case "h1":
	default:
		log.Fatalf("-client: %q", *client)
	}
	s, err := sidecar.Open(*config, opts)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", s.Config().Listen)
	if err != nil {
		log.Fatal(err)
	}
	switch *server {
	case "h1":
		log.Fatal(serveH1(ln, s.Handler()))
	case "nethttp":
		log.Fatal(http.Serve(ln, s.Handler()))
	default:
		log.Fatalf("-server: %q", *server)
	}
}
