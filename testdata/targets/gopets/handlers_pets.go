package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

var speciesNames = []string{"dog", "cat", "bird", "fish"}

func validSpecies(s string) bool {
	for _, n := range speciesNames {
		if s == n {
			return true
		}
	}
	return false
}

// petInput is the body of POST /pets and PUT /pets/{petId}.
type petInput struct {
	Name    string   `json:"name"`
	Species string   `json:"species"`
	Age     *int     `json:"age"`
	Tags    []string `json:"tags"`
}

func (in petInput) validate() error {
	if n := utf8.RuneCountInString(in.Name); n < 1 || n > 40 {
		return errors.New("name must be 1 to 40 characters")
	}
	if !validSpecies(in.Species) {
		return errors.New("species must be one of dog, cat, bird, fish")
	}
	if in.Age == nil {
		return errors.New("age is required")
	}
	if *in.Age < 0 || *in.Age > 30 {
		return errors.New("age must be between 0 and 30")
	}
	return nil
}

func (in petInput) pet() Pet {
	p := Pet{Name: in.Name, Species: in.Species, Age: *in.Age, Tags: []string{}}
	if len(in.Tags) > 0 {
		p.Tags = normaliseTags(in.Tags)
	}
	return p
}

// normaliseTags lower-cases, trims and de-duplicates tags, dropping blank ones.
func normaliseTags(in []string) []string {
	var out []string // BUG (b): stays nil when every tag is blank: answers "tags": null.
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || contains(out, t) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *server) handleCreatePet(w http.ResponseWriter, r *http.Request) {
	var in petInput
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.store.create(in.pet())
	if err != nil {
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/pets/%d", p.ID))
	writeJSON(w, http.StatusCreated, p)
}

func (s *server) handleGetPet(w http.ResponseWriter, r *http.Request) {
	id, ok := petID(w, r)
	if !ok {
		return
	}
	p, err := s.store.get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *server) handleUpdatePet(w http.ResponseWriter, r *http.Request) {
	id, ok := petID(w, r)
	if !ok {
		return
	}
	var in petInput
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.store.update(id, in.pet())
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *server) handleDeletePet(w http.ResponseWriter, r *http.Request) {
	id, ok := petID(w, r)
	if !ok {
		return
	}
	before, err := s.store.get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	p, err := s.store.remove(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if before.Status == "fostered" {
		go s.releaseFoster(p) // tell the foster family; see BUG (c)
	}
	w.WriteHeader(http.StatusNoContent)
}

type petPage struct {
	Items  []Pet `json:"items"`
	Total  int   `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
}

func (s *server) handleListPets(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	items, total := s.store.list(q)
	writeJSON(w, http.StatusOK, petPage{Items: items, Total: total, Limit: q.limit, Offset: q.offset})
}

func parseListQuery(r *http.Request) (listQuery, error) {
	v := r.URL.Query()
	q := listQuery{species: v.Get("species"), tag: v.Get("tag"), limit: 20}
	if q.species != "" && !validSpecies(q.species) {
		return q, errors.New("species must be one of dog, cat, bird, fish")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return q, fmt.Errorf("limit must be an integer between 1 and %d", maxLimit)
		}
		q.limit = n
	}
	if s := v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return q, errors.New("offset must be a non-negative integer")
		}
		q.offset = n
	}
	return q, nil
}
