package main

import (
	"errors"
	"net/http"

	"github.com/whittle-dev/gopets/internal/adopt"
)

func (s *server) handleAdopt(w http.ResponseWriter, r *http.Request) {
	id, ok := petID(w, r)
	if !ok {
		return
	}
	var req adopt.Request
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := adopt.Validate(req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.store.get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if p.Status != "available" {
		writeError(w, http.StatusConflict, errTaken.Error())
		return
	}
	res, err := adopt.Process(adopt.Pet{ID: p.ID, Species: p.Species, Age: p.Age}, req)
	switch {
	case errors.Is(err, adopt.ErrNotEligible):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	status := "adopted"
	if res.Placement != nil {
		status = "fostered"
	}
	if err := s.store.markAdopted(p.ID, status, res.Placement); err != nil {
		code := http.StatusConflict
		if errors.Is(err, errNotFound) {
			code = http.StatusNotFound
		}
		writeError(w, code, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// releaseFoster tells the foster family that their pet left the shelter's books. It runs
// in its own goroutine: a panic here kills the whole process.
func (s *server) releaseFoster(p *Pet) {
	fam := p.foster.Family // BUG (c): p was wiped by store.remove: p.foster is nil.
	s.log.Printf("pet %d: foster family %s released after %d weeks", p.ID, fam.Name, p.foster.Weeks)
}
