// Command engines measures what the sidecar's cost per request would be
// on lighter HTTP/1.1 engines than net/http's, for bench/proxy/run.sh: it
// runs the same sidecar (sidecar.Open, every policy of the config) with
//
//	-client direct   an upstream client that writes the request and reads
//	                 the response on the caller's goroutine, instead of
//	                 http.Transport's per-connection read and write loops;
//	-server h1       a server loop that reads requests with http.ReadRequest
//	                 and answers on the connection's goroutine, instead of
//	                 http.Server (no background read per request).
//
// This is an experiment, not a product: both engines skip what a real one
// needs (context cancellation, deadlines, header size limits, 1xx and
// upgrades, HTTP/1.0 and Connection handling, the checks net/http makes on
// malformed requests, graceful shutdown). They bound from below what such
// an engine could save while the data path keeps net/http's Request and
// Response types, shared with bulwarkhttp. Stop it with SIGKILL.
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
	client := flag.String("client", "transport", "upstream client: transport (net/http) or direct")
	server := flag.String("server", "nethttp", "server: nethttp or h1")
	flag.Parse()
	debug.SetGCPercent(400) // as bulwark run
	var opts sidecar.Options
	switch *client {
	case "direct":
		opts.Transport = &direct{idle: make(chan *pconn, 128)}
	case "transport":
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
