package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"

	"github.com/whittle-dev/whittle/internal/panics"
)

// servePprof serves Go's profiles on WHITTLE_PPROF (a loopback address such
// as 127.0.0.1:6060) for developers chasing memory or CPU in long runs.
func servePprof(stderr *os.File) {
	addr := os.Getenv("WHITTLE_PPROF")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(stderr, "whittle: WHITTLE_PPROF=%q ignored: give a loopback address such as 127.0.0.1:6060\n", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "whittle: WHITTLE_PPROF: %v\n", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		defer panics.Catch("cli: pprof server", nil)
		_ = http.Serve(ln, mux) // ends with the process
	}()
}
