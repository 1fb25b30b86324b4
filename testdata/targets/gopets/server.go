package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"time"
)

type server struct {
	cfg    config
	log    *log.Logger
	store  *store
	breeds *breedCatalog
	cards  *cardRenderer
}

func newServer(cfg config, logger *log.Logger) *server {
	s := &server{
		cfg:    cfg,
		log:    logger,
		store:  newStore(cfg.MaxPets),
		breeds: &breedCatalog{dir: cfg.BreedsDir},
		cards:  &cardRenderer{dir: cfg.TemplatesDir},
	}
	if cfg.CompactOnStart {
		s.compactStore()
	}
	return s
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.handleHealth)
	mux.HandleFunc("GET /whoami", s.handleWhoami)
	mux.HandleFunc("GET /pets", s.handleListPets)
	mux.HandleFunc("POST /pets", s.handleCreatePet)
	mux.HandleFunc("GET /pets/{petId}", s.handleGetPet)
	mux.HandleFunc("PUT /pets/{petId}", s.handleUpdatePet)
	mux.HandleFunc("DELETE /pets/{petId}", s.handleDeletePet)
	mux.HandleFunc("POST /pets/{petId}/adopt", s.handleAdopt)
	mux.HandleFunc("GET /pets/{petId}/card", s.handleCard)
	mux.HandleFunc("GET /breeds/{breed}", s.handleBreed)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route")
	})
	return s.withRequestID(s.withAccessLog(s.withRecovery(mux)))
}

func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version})
}

// withRequestID gives every answer a fresh X-Request-Id (a volatile header by design).
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		w.Header().Set("X-Request-Id", hex.EncodeToString(b[:]))
		next.ServeHTTP(w, r)
	})
}

// withRecovery turns a handler panic into a 500, as most Go services do. Panics in
// goroutines a handler starts are not covered (nothing can recover those).
func (s *server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Printf("panic serving %s %s: %v", r.Method, r.URL.RequestURI(), v)
				writeError(w, http.StatusInternalServerError, "internal server error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *server) withAccessLog(next http.Handler) http.Handler {
	if !s.cfg.AccessLog {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Printf("%s %s %d %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(time.Microsecond))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding answer"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// decodeBody decodes a JSON request body strictly: unknown fields and trailing data are
// errors.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("request body is empty")
		}
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return errors.New("invalid JSON body: trailing data")
	}
	return nil
}

// petID parses the {petId} path value; it answers 400 itself and returns false when it
// is not a positive integer.
func petID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("petId"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "petId must be a positive integer")
		return 0, false
	}
	return id, true
}
