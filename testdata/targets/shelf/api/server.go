// Package api serves shelf's HTTP API (testdata/targets/shelf/openapi.yaml).
package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/acme/shelf/events"
	"github.com/acme/shelf/render"
	"github.com/acme/shelf/store"
)

// Config is /etc/shelf/config.json.
type Config struct {
	PageMax    int                        `json:"page_max"`
	Currencies map[string]render.Currency `json:"currencies"`
}

// Server answers the API; one lock guards the store and the log.
type Server struct {
	mu     sync.Mutex
	cfg    Config
	items  *store.Store
	events *events.Log
}

// New returns a server with an empty shelf.
func New(cfg Config) *Server {
	if cfg.PageMax <= 0 {
		cfg.PageMax = 100
	}
	return &Server{cfg: cfg, items: store.New(), events: events.New()}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.URL.Path == "/health":
		s.health(w, r)
	case r.URL.Path == "/items":
		s.route(w, r, map[string]http.HandlerFunc{"GET": s.listItems, "POST": s.createItem})
	case len(segs) == 2 && segs[0] == "items":
		id, ok := itemID(w, segs[1])
		if !ok {
			return
		}
		s.route(w, r, map[string]http.HandlerFunc{
			"GET":    func(w http.ResponseWriter, r *http.Request) { s.getItem(w, r, id) },
			"PUT":    func(w http.ResponseWriter, r *http.Request) { s.putItem(w, r, id) },
			"DELETE": func(w http.ResponseWriter, r *http.Request) { s.deleteItem(w, r, id) },
		})
	case len(segs) == 3 && segs[0] == "items" && segs[2] == "label":
		id, ok := itemID(w, segs[1])
		if !ok {
			return
		}
		s.route(w, r, map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, r *http.Request) { s.itemLabel(w, r, id) }})
	case r.URL.Path == "/search/items":
		s.route(w, r, map[string]http.HandlerFunc{"GET": s.searchItems})
	case r.URL.Path == "/events":
		s.route(w, r, map[string]http.HandlerFunc{"GET": s.listEvents, "POST": s.createEvent})
	case r.URL.Path == "/stats":
		s.route(w, r, map[string]http.HandlerFunc{"GET": s.stats})
	default:
		problem(w, http.StatusNotFound, "no such path")
	}
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, methods map[string]http.HandlerFunc) {
	h, ok := methods[r.Method]
	if !ok {
		problem(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	h(w, r)
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	tags, value := s.items.Facets()
	counts, subjects := s.events.Summary(5)
	writeJSON(w, http.StatusOK, map[string]any{
		"items": s.items.Len(), "tags": tags, "value": value, "events": counts, "top_subjects": subjects,
	})
}

func itemID(w http.ResponseWriter, seg string) (int64, bool) {
	id, err := strconv.ParseInt(seg, 10, 64)
	if err != nil || id < 1 {
		problem(w, http.StatusBadRequest, "the item id must be a positive integer")
		return 0, false
	}
	return id, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// intParam reads an integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, false
	}
	return n, true
}
