package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

var langPattern = regexp.MustCompile(`^[a-z]{2}$`)

// cardRenderer renders a pet's kennel card from <dir>/<lang>.tmpl, read on every request
// so that translators can edit templates in place.
type cardRenderer struct {
	dir string
}

var errNoLanguage = errors.New("no card template for this language")

// cardData is what a card template sees.
type cardData struct {
	Pet
	HumanYears float64
}

var cardFuncs = template.FuncMap{
	"upper": strings.ToUpper,
	"join":  strings.Join,
}

func (c *cardRenderer) render(lang string, p Pet) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(c.dir, lang+".tmpl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoLanguage
	}
	if err != nil {
		return nil, fmt.Errorf("reading template: %w", err)
	}
	tmpl, err := template.New(lang).Funcs(cardFuncs).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parsing template %s: %w", lang, err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, cardData{Pet: p, HumanYears: humanYears(p.Species, p.Age)}); err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", lang, err)
	}
	return buf.Bytes(), nil
}

func (s *server) handleCard(w http.ResponseWriter, r *http.Request) {
	id, ok := petID(w, r)
	if !ok {
		return
	}
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		lang = "en"
	}
	if !langPattern.MatchString(lang) {
		writeError(w, http.StatusBadRequest, "lang must be two lower-case letters")
		return
	}
	p, err := s.store.get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	card, err := s.cards.render(lang, p)
	switch {
	case errors.Is(err, errNoLanguage):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	_, _ = w.Write(card)
}
