package spec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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
// (scheme://host:port[/prefix]) and returns it with the URL it came from.
func DiscoverSpec(ctx context.Context, baseURL string, client *http.Client, opts ...SpecOption) (*Spec, string, error) {
	c := newConfig(opts)
	if c.headerErr != nil {
		return nil, "", c.headerErr
	}
	if client != nil {
		c.client = client
	}
	base := strings.TrimRight(baseURL, "/")
	var lastProblem error
	for _, p := range DiscoveryPaths {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		u := base + p
		data, status, err := fetch(ctx, c.client, u)
		if err != nil {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			lastProblem = err
			continue
		}
		if status != http.StatusOK {
			continue
		}
		if _, _, err := sniff(u, data); err != nil {
			continue // e.g. an HTML page
		}
		loc, _ := sourceURL(u)
		s, err := load(ctx, c, u, data, loc)
		if err != nil {
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
	if lastProblem != nil {
		problem += "; last error: " + lastProblem.Error()
	}
	return nil, "", &LoadError{Source: base, Kind: ErrNotFound, Problem: problem, Fix: "pass --spec FILE|URL"}
}
