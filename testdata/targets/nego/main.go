// Command nego is whittle's content-negotiation fixture: a small catalogue service that
// picks the files it reads by request headers, as real services do.
//
//   - Accept chooses a representation; all but JSON are rendered from a template file per
//     media type, read on every request (templates/item.html, item.xml, item.csv, ...).
//   - Accept-Language chooses a message catalog, loaded on every request from
//     locales/<tag>.json (q-values, fallback from fr-CH to fr, then the default language).
//     The supported languages come from the configuration; a missing catalog is a 500.
//   - Accept-Encoding chooses a precompressed asset (static/app.js.br, .zst, .gz), falling
//     back to the plain file when a variant is missing, like nginx's gzip_static.
//
// Its OpenAPI spec declares the response media types but not Accept-Language or
// Accept-Encoding, as real specs usually do not.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type config struct {
	Listen          string   `json:"listen"`
	Templates       string   `json:"templates"`
	Locales         string   `json:"locales"`
	Static          string   `json:"static"`
	DefaultLanguage string   `json:"default_language"`
	Languages       []string `json:"languages"`
	Assets          []string `json:"assets"`
}

func loadConfig(path string) (*config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.Listen == "" || c.DefaultLanguage == "" || len(c.Languages) == 0 {
		return nil, fmt.Errorf("config %s: listen, default_language and languages are required", path)
	}
	return &c, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nego:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("nego", flag.ContinueOnError)
	configPath := fs.String("config", "/etc/nego/config.json", "configuration file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	logger := log.New(os.Stderr, "", log.LstdFlags|log.LUTC)
	srv := &http.Server{
		Addr:              cfg.Listen,
		Handler:           newServer(cfg, logger).routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Printf("nego listening on %s", cfg.Listen)
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
