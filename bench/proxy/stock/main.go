// Command stock is a stock httputil.ReverseProxy, the baseline a Go proxy
// starts from: no policy, default transport with 64 idle connections.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18085", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18080", "upstream URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	p := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: t,
	}
	log.Fatal(http.ListenAndServe(*addr, p))
}
