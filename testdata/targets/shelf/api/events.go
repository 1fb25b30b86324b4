package api

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"
)

var eventKinds = map[string]bool{"view": true, "purchase": true, "review": true, "restock": true}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		problem(w, http.StatusBadRequest, "the body must be an event object")
		return
	}
	switch {
	case !eventKinds[in.Kind]:
		problem(w, http.StatusBadRequest, "kind: view, purchase, review or restock")
		return
	case in.Subject == "" || utf8.RuneCountInString(in.Subject) > 64:
		problem(w, http.StatusBadRequest, "subject: 1 to 64 characters")
		return
	case utf8.RuneCountInString(in.Message) > 200:
		problem(w, http.StatusBadRequest, "message: at most 200 characters")
		return
	}
	writeJSON(w, http.StatusCreated, s.events.Append(in.Kind, in.Subject, in.Message))
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	if kind != "" && !eventKinds[kind] {
		problem(w, http.StatusBadRequest, "kind: view, purchase, review or restock")
		return
	}
	limit, ok := intParam(r, "limit", 20, 1, s.cfg.PageMax)
	if !ok {
		problem(w, http.StatusBadRequest, "limit: 1 to 100")
		return
	}
	list, total, etag := s.events.Recent(kind, limit)
	w.Header().Set("ETag", etag)
	writeJSON(w, http.StatusOK, map[string]any{"events": list, "total": total})
}
