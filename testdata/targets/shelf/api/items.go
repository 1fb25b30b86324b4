package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/acme/shelf/render"
	"github.com/acme/shelf/store"
)

// itemInput is the body of POST /items and PUT /items/{id}.
type itemInput struct {
	Name     *string  `json:"name"`
	Price    *int64   `json:"price"`
	Currency string   `json:"currency"`
	Tags     []string `json:"tags"`
}

var knownTags = map[string]bool{"book": true, "game": true, "music": true, "tool": true, "toy": true}

func (s *Server) decodeItem(w http.ResponseWriter, r *http.Request) (itemInput, bool) {
	var in itemInput
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		problem(w, http.StatusBadRequest, "the body must be an item object")
		return in, false
	}
	if err := s.validate(&in); err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return in, false
	}
	return in, true
}

func (s *Server) validate(in *itemInput) error {
	switch {
	case in.Name == nil || *in.Name == "" || utf8.RuneCountInString(*in.Name) > 40:
		return errors.New("name: 1 to 40 characters")
	case in.Price == nil || *in.Price < 0 || *in.Price > 1_000_000:
		return errors.New("price: 0 to 1000000")
	case len(in.Tags) > 5:
		return errors.New("tags: at most 5")
	}
	if in.Currency == "" {
		in.Currency = "EUR"
	}
	if _, ok := s.cfg.Currencies[in.Currency]; !ok {
		return fmt.Errorf("currency: one of EUR, USD, JPY")
	}
	for _, t := range in.Tags {
		if !knownTags[t] {
			return fmt.Errorf("tags: unknown tag %q", t)
		}
	}
	return nil
}

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q := store.Query{Tag: r.URL.Query().Get("tag"), Sort: r.URL.Query().Get("sort"), Desc: r.URL.Query().Get("order") == "desc"}
	var ok bool
	if q.Limit, ok = intParam(r, "limit", 20, 1, s.cfg.PageMax); !ok {
		problem(w, http.StatusBadRequest, fmt.Sprintf("limit: 1 to %d", s.cfg.PageMax))
		return
	}
	if q.Offset, ok = intParam(r, "offset", 0, 0, 1_000_000); !ok {
		problem(w, http.StatusBadRequest, "offset: 0 to 1000000")
		return
	}
	switch q.Sort {
	case "", "name", "price", "id":
	default:
		problem(w, http.StatusBadRequest, "sort: name, price or id")
		return
	}
	if q.Tag != "" && !knownTags[q.Tag] {
		problem(w, http.StatusBadRequest, "tag: book, game, music, tool or toy")
		return
	}
	page, total, etag := s.items.List(q)
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, map[string]any{"items": page, "total": total})
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request) {
	in, ok := s.decodeItem(w, r)
	if !ok {
		return
	}
	it, err := s.items.Add(*in.Name, *in.Price, in.Currency, in.Tags)
	if errors.Is(err, store.ErrDuplicate) {
		problem(w, http.StatusConflict, err.Error())
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/items/%d", it.ID))
	writeJSON(w, http.StatusCreated, it)
}

func (s *Server) getItem(w http.ResponseWriter, _ *http.Request, id int64) {
	it, err := s.items.Get(id)
	if err != nil {
		problem(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) putItem(w http.ResponseWriter, r *http.Request, id int64) {
	in, ok := s.decodeItem(w, r)
	if !ok {
		return
	}
	it, err := s.items.Update(id, *in.Name, *in.Price, in.Currency, in.Tags)
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrDuplicate):
		problem(w, http.StatusConflict, err.Error())
	default:
		writeJSON(w, http.StatusOK, it)
	}
}

func (s *Server) deleteItem(w http.ResponseWriter, _ *http.Request, id int64) {
	if err := s.items.Delete(id); err != nil {
		problem(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) itemLabel(w http.ResponseWriter, r *http.Request, id int64) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "text"
	}
	ct, known := render.Formats[format]
	if !known {
		problem(w, http.StatusBadRequest, "format: text, csv, html or json")
		return
	}
	it, err := s.items.Get(id)
	if err != nil {
		problem(w, http.StatusNotFound, err.Error())
		return
	}
	body, err := render.Label(it, format, s.cfg.Currencies[it.Currency])
	if err != nil {
		problem(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(body)
}

func (s *Server) searchItems(w http.ResponseWriter, r *http.Request) {
	text := r.URL.Query().Get("q")
	if text == "" || utf8.RuneCountInString(text) > 40 {
		problem(w, http.StatusBadRequest, "q: 1 to 40 characters")
		return
	}
	limit, ok := intParam(r, "limit", 20, 1, s.cfg.PageMax)
	if !ok {
		problem(w, http.StatusBadRequest, fmt.Sprintf("limit: 1 to %d", s.cfg.PageMax))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": s.items.Search(text, limit)})
}
