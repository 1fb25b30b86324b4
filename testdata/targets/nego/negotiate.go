package main

import (
	"sort"
	"strconv"
	"strings"
)

// preference is one entry of an Accept-style header.
type preference struct {
	value string
	q     float64
}

// preferences parses an Accept, Accept-Language or Accept-Encoding value, best first
// (equal q-values keep the client's order).
func preferences(header string) []preference {
	var out []preference
	for _, part := range strings.Split(header, ",") {
		v, params, _ := strings.Cut(part, ";")
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		p := preference{value: v, q: 1}
		for _, param := range strings.Split(params, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && q >= 0 && q <= 1 {
					p.q = q
				}
			}
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].q > out[j].q })
	return out
}

// chooseMedia picks the offer (server order breaks ties) the Accept header rates best;
// the most specific matching range gives an offer its q. No header: the first offer.
func chooseMedia(accept string, offers []string) (string, bool) {
	if strings.TrimSpace(accept) == "" {
		return offers[0], true
	}
	prefs := preferences(accept)
	best, bestQ := "", 0.0
	for _, offer := range offers {
		typ, _, _ := strings.Cut(offer, "/")
		q, specificity := 0.0, -1
		for _, p := range prefs {
			r := strings.ToLower(p.value)
			s := -1
			switch {
			case r == offer:
				s = 2
			case r == typ+"/*":
				s = 1
			case r == "*/*":
				s = 0
			}
			if s > specificity {
				q, specificity = p.q, s
			}
		}
		if q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best, best != ""
}

// normTag makes language tags comparable: fr_CH, fr-ch and FR-CH are the same.
func normTag(t string) string { return strings.ToLower(strings.ReplaceAll(t, "_", "-")) }

// chooseLanguage picks a supported language by RFC 4647 lookup: each range in order of
// preference, then shorter and shorter prefixes of it (fr-CH, then fr); "*" or nothing
// matching gives the default.
func chooseLanguage(header string, supported []string, def string) string {
	byTag := map[string]string{}
	for _, s := range supported {
		byTag[normTag(s)] = s
	}
	for _, p := range preferences(header) {
		if p.q <= 0 {
			continue
		}
		if p.value == "*" {
			return def
		}
		for t := normTag(p.value); t != ""; {
			if s, ok := byTag[t]; ok {
				return s
			}
			i := strings.LastIndexByte(t, '-')
			if i < 0 {
				break
			}
			t = t[:i]
		}
	}
	return def
}

// codings are the content codings nego serves, in its own order of preference, with the
// extension of their precompressed files.
var codings = []struct{ name, ext string }{{"br", ".br"}, {"zstd", ".zst"}, {"gzip", ".gz"}, {"identity", ""}}

// codingQ is the q the Accept-Encoding header gives coding: its own entry, else "*",
// else 1 for identity and 0 for the others (RFC 9110, 12.5.3).
func codingQ(prefs []preference, coding string) float64 {
	star := -1.0
	for _, p := range prefs {
		v := strings.ToLower(p.value)
		if v == coding || coding == "gzip" && v == "x-gzip" {
			return p.q
		}
		if v == "*" {
			star = p.q
		}
	}
	if star >= 0 {
		return star
	}
	if coding == "identity" {
		return 1
	}
	return 0
}

// chooseCoding picks the acceptable coding with the best q whose variant exists; ok is
// false when not even identity is acceptable.
func chooseCoding(header string, exists func(ext string) bool) (name, ext string, ok bool) {
	prefs := preferences(header)
	bestQ := 0.0
	for _, c := range codings {
		q := codingQ(prefs, c.name)
		if strings.TrimSpace(header) == "" && c.name != "identity" {
			q = 0
		}
		if q > bestQ && (c.ext == "" || exists(c.ext)) {
			name, ext, bestQ = c.name, c.ext, q
		}
	}
	return name, ext, name != ""
}
