package spec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/whittle-dev/whittle/internal/loopback"
)

// DiscoveryPaths are tried in order by DiscoverSpec.
var DiscoveryPaths = []string{
	"/openapi.json",
	"/swagger.json",
	"/v3/api-docs",
	"/openapi.yaml",
	"/openapi.yml",
	"/swagger.yaml",
	"/swagger.yml",
	"/api-docs",
	"/v2/api-docs",
	"/docs/openapi.json",
	"/api/openapi.json",
	"/api/swagger.json",
	"/swagger/v1/swagger.json",
	"/swagger/doc.json",
	"/openapi/v3/api-docs",
	"/api-docs/swagger.json",
	"/.well-known/openapi.json",
	"/openapi",
}

// DiscoverSpec looks for the target's own spec under baseURL
// (scheme://host:port[/prefix], a loopback address) and returns it with the
// URL it came from. The target is untrusted: redirects are not followed, and
// the document's $refs may point only into the document itself.
func DiscoverSpec(ctx context.Context, baseURL string, opts ...SpecOption) (*Spec, string, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, "", c.headerErr
	}
	base := strings.TrimRight(baseURL, "/")
	if u, err := url.Parse(base); err != nil || loopback.CheckURL(u) != nil {
		return nil, "", &LoadError{Source: base, Kind: ErrFetch, Problem: "targets are reached on loopback addresses only", Fix: "give the target's 127.0.0.1 address"}
	}
	var lastProblem error
	var redirects []string
	for _, p := range DiscoveryPaths {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		u := base + p
		b := newBudget(capsFor(true), c.rec)
		data, status, location, err := fetch(ctx, c.client, u, b)
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			var ol *overLimit
			if errors.As(err, &ol) {
				return nil, u, limitError(u, err)
			}
			lastProblem = err
			continue
		}
		if location != "" {
			redirects = append(redirects, fmt.Sprintf("%s to %q", p, oneLine(location)))
		}
		if status != http.StatusOK {
			continue
		}
		loc, _ := sourceURL(u)
		s, err := load(ctx, c, u, data, loc, sameDocument, b)
		if err != nil {
			if errors.Is(err, ErrSyntax) || errors.Is(err, ErrNotOpenAPI) {
				continue // e.g. an HTML page
			}
			var le *LoadError
			if errors.As(err, &le) {
				return nil, u, err
			}
			lastProblem = err
			continue
		}
		return s, u, nil
	}
	problem := fmt.Sprintf("no OpenAPI or Swagger document at %s (tried %s)", base, strings.Join(DiscoveryPaths, ", "))
	if len(redirects) > 0 {
		problem += "; redirects not followed: " + strings.Join(redirects, ", ")
	}
	if lastProblem != nil {
		problem += "; last error: " + lastProblem.Error()
	}
	return nil, "", &LoadError{Source: base, Kind: ErrNotFound, Problem: problem, Fix: FixPassSpec}
}
