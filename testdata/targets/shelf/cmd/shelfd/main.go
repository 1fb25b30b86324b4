// Command shelfd serves the shelf API: items on a shelf and an activity log.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/acme/shelf/api"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	config := flag.String("config", "/etc/shelf/config.json", "configuration file")
	flag.Parse()
	cfg, err := loadConfig(*config)
	if err != nil {
		log.Fatalf("shelfd: %v", err)
	}
	srv := &http.Server{Addr: *addr, Handler: api.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("shelfd: listening on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}

func loadConfig(path string) (api.Config, error) {
	var cfg api.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	return cfg, json.Unmarshal(b, &cfg)
}
