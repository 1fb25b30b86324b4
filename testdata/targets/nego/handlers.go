package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

type item struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

var items = []item{
	{1, "teapot", 24.5},
	{2, "kettle", 39.9},
	{3, "mug", 7.25},
	{4, "saucer", 4.1},
	{5, "strainer", 3.8},
}

type server struct {
	cfg *config
	log *log.Logger
}

func newServer(cfg *config, logger *log.Logger) *server { return &server{cfg: cfg, log: logger} }

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /items", s.handleItems)
	mux.HandleFunc("GET /items/{id}", s.handleItem)
	mux.HandleFunc("GET /messages", s.handleMessages)
	mux.HandleFunc("GET /assets/{name}", s.handleAsset)
	return mux
}

// extensions are the template files of each representation but JSON (made in code).
var extensions = map[string]string{"text/html": "html", "application/xml": "xml", "text/csv": "csv", "text/plain": "txt"}

// catalog loads the message catalog the request's Accept-Language chooses, from disk on
// every request (translators edit catalogs in place).
func (s *server) catalog(r *http.Request) (string, map[string]string, error) {
	lang := chooseLanguage(r.Header.Get("Accept-Language"), s.cfg.Languages, s.cfg.DefaultLanguage)
	b, err := os.ReadFile(filepath.Join(s.cfg.Locales, lang+".json"))
	if err != nil {
		return lang, nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(b, &msgs); err != nil {
		return lang, nil, fmt.Errorf("catalog %s: %w", lang, err)
	}
	return lang, msgs, nil
}

// negotiate answers 406 or 500 itself and returns ok=false then.
func (s *server) negotiate(w http.ResponseWriter, r *http.Request, offers []string) (media, lang string, msgs map[string]string, ok bool) {
	w.Header().Set("Vary", "Accept, Accept-Language")
	media, ok = chooseMedia(r.Header.Get("Accept"), offers)
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotAcceptable)
		fmt.Fprintf(w, "not acceptable; available: %s\n", strings.Join(offers, ", "))
		return "", "", nil, false
	}
	lang, msgs, err := s.catalog(r)
	if err != nil {
		s.fail(w, err)
		return "", "", nil, false
	}
	w.Header().Set("Content-Language", bcp47(lang))
	return media, lang, msgs, true
}

// bcp47 spells a catalog name (pt_BR) as a language tag (pt-BR).
func bcp47(lang string) string { return strings.ReplaceAll(lang, "_", "-") }

func (s *server) fail(w http.ResponseWriter, err error) {
	s.log.Print(err)
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

type view struct {
	Lang  string
	T     map[string]string
	Item  item
	Items []item
}

// render writes v through the template of media (name.EXT), or as JSON.
func (s *server) render(w http.ResponseWriter, media, name string, v view, asJSON any) {
	if media == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(asJSON)
		return
	}
	src, err := os.ReadFile(filepath.Join(s.cfg.Templates, name+"."+extensions[media]))
	if err != nil {
		s.fail(w, fmt.Errorf("template: %w", err))
		return
	}
	t, err := template.New(name).Parse(string(src))
	if err != nil {
		s.fail(w, fmt.Errorf("template %s: %w", name, err))
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.fail(w, fmt.Errorf("template %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *server) handleItems(w http.ResponseWriter, r *http.Request) {
	limit := len(items)
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 100 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintln(w, `{"error":"limit must be an integer from 1 to 100"}`)
			return
		}
		limit = min(n, limit)
	}
	media, lang, msgs, ok := s.negotiate(w, r, []string{"application/json", "text/html", "text/csv"})
	if !ok {
		return
	}
	list := items[:limit]
	s.render(w, media, "list", view{Lang: bcp47(lang), T: msgs, Items: list}, map[string]any{"title": msgs["title"], "items": list})
}

func (s *server) handleItem(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	i := slices.IndexFunc(items, func(it item) bool { return it.ID == id })
	media, lang, msgs, ok := s.negotiate(w, r, []string{"application/json", "text/html", "application/xml", "text/csv", "text/plain"})
	if !ok {
		return
	}
	if err != nil || i < 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msgs["not_found"]})
		return
	}
	it := items[i]
	s.render(w, media, "item", view{Lang: bcp47(lang), T: msgs, Item: it},
		map[string]any{"id": it.ID, "name": it.Name, "price": it.Price, "labels": map[string]string{"name": msgs["name"], "price": msgs["price"]}})
}

func (s *server) handleMessages(w http.ResponseWriter, r *http.Request) {
	_, lang, msgs, ok := s.negotiate(w, r, []string{"application/json"})
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"language": bcp47(lang), "messages": msgs})
}

var assetTypes = map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

// handleAsset serves a static file, precompressed when Accept-Encoding allows and the
// variant exists (checked on disk, like nginx's gzip_static and Caddy's precompressed).
func (s *server) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !slices.Contains(s.cfg.Assets, name) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, `{"error":"no such asset"}`)
		return
	}
	plain := filepath.Join(s.cfg.Static, name)
	w.Header().Set("Vary", "Accept-Encoding")
	coding, ext, ok := chooseCoding(r.Header.Get("Accept-Encoding"), func(ext string) bool {
		_, err := os.Stat(plain + ext)
		return err == nil
	})
	if !ok {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotAcceptable)
		fmt.Fprintln(w, "no acceptable content coding")
		return
	}
	b, err := os.ReadFile(plain + ext)
	if err != nil {
		s.fail(w, fmt.Errorf("asset %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", assetTypes[filepath.Ext(name)])
	if coding != "identity" {
		w.Header().Set("Content-Encoding", coding)
	}
	_, _ = w.Write(b)
}
