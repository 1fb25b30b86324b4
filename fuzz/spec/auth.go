package spec

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Credentials are what a request for one operation carries to authenticate.
type Credentials struct {
	Header  http.Header
	Query   url.Values
	Cookies map[string]string
}

// Credentials returns the configured headers plus the values of the security
// schemes of the first of op's alternatives that can be satisfied.
func (s *Spec) Credentials(op *Operation) Credentials {
	c := Credentials{Header: http.Header{}, Query: url.Values{}, Cookies: map[string]string{}}
	for k, vs := range s.Auth.Headers {
		c.Header[k] = append([]string(nil), vs...)
	}
	alt := s.pickAlternative(op)
	for _, name := range alt {
		v, ok := s.Auth.Schemes[name]
		sch := s.scheme(name)
		if !ok || sch == nil {
			continue
		}
		switch strings.ToLower(sch.Type) {
		case "apikey":
			switch sch.In {
			case "header":
				c.Header.Set(sch.Name, v)
			case "query":
				c.Query.Set(sch.Name, v)
			case "cookie":
				c.Cookies[sch.Name] = v
			}
		case "http":
			switch strings.ToLower(sch.Scheme) {
			case "basic":
				if strings.Contains(v, ":") {
					v = base64.StdEncoding.EncodeToString([]byte(v))
				}
				c.Header.Set("Authorization", "Basic "+v)
			case "bearer":
				c.Header.Set("Authorization", "Bearer "+v)
			default:
				c.Header.Set("Authorization", sch.Scheme+" "+v)
			}
		default: // oauth2, openIdConnect
			c.Header.Set("Authorization", "Bearer "+v)
		}
	}
	return c
}

func (s *Spec) scheme(name string) *openapi3.SecurityScheme {
	if s.Doc == nil || s.Doc.Components == nil {
		return nil
	}
	if r := s.Doc.Components.SecuritySchemes[name]; r != nil {
		return r.Value
	}
	return nil
}

// satisfied reports whether a value is known for scheme name, given as a
// scheme value or as the header the scheme uses.
func (s *Spec) satisfied(name string) bool {
	if _, ok := s.Auth.Schemes[name]; ok {
		return true
	}
	sch := s.scheme(name)
	if sch == nil {
		return false
	}
	switch strings.ToLower(sch.Type) {
	case "apikey":
		return sch.In == "header" && s.Auth.Headers.Get(sch.Name) != ""
	default:
		return s.Auth.Headers.Get("Authorization") != ""
	}
}

func (s *Spec) pickAlternative(op *Operation) []string {
	best, bestScore := []string(nil), -1
	for _, alt := range op.Security {
		score := 0
		for _, n := range alt {
			if s.satisfied(n) {
				score++
			}
		}
		if score == len(alt) {
			return alt
		}
		if score > bestScore {
			best, bestScore = alt, score
		}
	}
	return best
}

// NeedsCredentials reports whether op requires credentials that were not given.
func (s *Spec) NeedsCredentials(op *Operation) bool {
	if len(op.Security) == 0 {
		return false
	}
	for _, alt := range op.Security {
		ok := true
		for _, n := range alt {
			ok = ok && s.satisfied(n)
		}
		if ok {
			return false
		}
	}
	return true
}

// credentialWarning summarises operations whose security cannot be met.
func (s *Spec) credentialWarning() string {
	n := 0
	schemes := map[string]bool{}
	for _, op := range s.Operations {
		if s.NeedsCredentials(op) {
			n++
			for _, alt := range op.Security {
				for _, name := range alt {
					schemes[name] = true
				}
			}
		}
	}
	if n == 0 {
		return ""
	}
	names := make([]string, 0, len(schemes))
	for k := range schemes {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Sprintf("%d operations need credentials (schemes: %s) and none were given; they will likely answer 401/403 (give the credentials as a header, e.g. 'Authorization: Bearer TOKEN', or as a value of the scheme)", n, strings.Join(names, ", "))
}
