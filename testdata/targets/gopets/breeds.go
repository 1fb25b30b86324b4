package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
)

var breedPattern = regexp.MustCompile(`^[a-z-]+$`)

// Breed is the content of a breed data file.
type Breed struct {
	Name           string `json:"name"`
	Species        string `json:"species"`
	Origin         string `json:"origin"`
	Size           string `json:"size"`
	LifeExpectancy struct {
		Min int `json:"min"`
		Max int `json:"max"`
	} `json:"lifeExpectancy"`
	Temperament []string `json:"temperament"`
}

// breedCatalog answers from one JSON file per breed in dir, read on demand.
type breedCatalog struct {
	dir string
}

var errNoBreed = errors.New("unknown breed")

func (c *breedCatalog) lookup(name string) (Breed, error) {
	var b Breed
	data, err := os.ReadFile(filepath.Join(c.dir, name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return b, errNoBreed
	}
	if err != nil {
		return b, fmt.Errorf("reading breed %s: %w", name, err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("parsing breed %s: %w", name, err)
	}
	return b, nil
}

func (s *server) handleBreed(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("breed")
	if !breedPattern.MatchString(name) {
		writeError(w, http.StatusBadRequest, "breed must match ^[a-z-]+$")
		return
	}
	b, err := s.breeds.lookup(name)
	switch {
	case errors.Is(err, errNoBreed):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, b)
	}
}
