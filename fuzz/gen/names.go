package gen

import (
	"math/rand/v2"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// NameSource proposes names that exist where the target resolves names:
// entries of the directories it listed or read files from. A parameter that
// names a module, plugin or template only does something when it hits one,
// and random strings never do.
type NameSource interface {
	// PickName returns a name for a value called name ("codec",
	// "renderer"), false when the source has none.
	PickName(rng *rand.Rand, name string) (string, bool)
}

// WithNames lets valid free-form strings sometimes be names from src.
func WithNames(src NameSource) Option { return func(g *Generator) { g.names = src } }

// listedName is a name from the generator's name source that s accepts.
func (g *Generator) listedName(s *openapi3.Schema, name string) (any, bool) {
	if g.names == nil || !slices.Contains(schemaTypes(s), openapi3.TypeString) {
		return nil, false
	}
	v, ok := g.names.PickName(g.rng, name)
	if !ok || g.Validate(s, v) != nil {
		return nil, false
	}
	return v, true
}
