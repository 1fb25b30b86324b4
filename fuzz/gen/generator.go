// Package gen generates HTTP requests for the operations of a spec: schema-valid
// values first, then boundary values, then knowingly invalid ones, all from one
// seeded random stream so that the same seed gives the same requests.
package gen

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/fuzz/spec"
	"github.com/whittle-dev/whittle/internal/limits"
)

// Phase is the kind of input being generated.
type Phase uint8

const (
	// Valid inputs conform to the spec.
	Valid Phase = iota
	// Boundary inputs conform but put one value at an edge of its schema.
	Boundary
	// Invalid inputs break one thing on purpose.
	Invalid
)

func (p Phase) String() string {
	switch p {
	case Valid:
		return "valid"
	case Boundary:
		return "boundary"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

// Intent tells which phase made a request and what it aimed at.
type Intent struct {
	Phase Phase `json:"phase"`
	// Kind names the technique: "random", "example", "min", "max-length",
	// "wrong-type", "missing-required", "special-chars", ...
	Kind string `json:"kind,omitempty"`
	// Target is the value aimed at: "query.limit", "body", "body/tag", ...
	Target string `json:"target,omitempty"`
	// SchemaInvalid is set when the targeted value is known not to conform.
	SchemaInvalid bool `json:"schema_invalid,omitempty"`
}

func (i Intent) String() string {
	s := i.Phase.String()
	if i.Kind != "" {
		s += ":" + i.Kind
	}
	if i.Target != "" {
		s += " " + i.Target
	}
	return s
}

// Input is a request before encoding: what each parameter and the body hold.
type Input struct {
	Op     string       `json:"op"`
	Params []ParamValue `json:"params,omitempty"`
	// Media is the body's media type; "" for no body.
	Media string `json:"media,omitempty"`
	Body  any    `json:"body,omitempty"`
	// RawBody, when set, is sent instead of encoding Body (malformed bodies).
	RawBody []byte `json:"raw_body,omitempty"`
	// Headers are content-negotiation headers (Accept, Accept-Language,
	// Accept-Encoding) by canonical name: specs declare none of them as
	// parameters, servers still choose files by them.
	Headers map[string]string `json:"headers,omitempty"`
}

// ParamValue is one parameter's value; Set is false when it is not sent.
type ParamValue struct {
	In    string `json:"in"`
	Name  string `json:"name"`
	Value any    `json:"value,omitempty"`
	Set   bool   `json:"set"`
}

// Key is "in.name".
func (p ParamValue) Key() string { return p.In + "." + p.Name }

// Clone deep-copies the input.
func (in Input) Clone() Input {
	out := in
	out.Params = make([]ParamValue, len(in.Params))
	for i, p := range in.Params {
		p.Value = cloneValue(p.Value)
		out.Params[i] = p
	}
	out.Body = cloneValue(in.Body)
	if in.RawBody != nil {
		out.RawBody = append([]byte(nil), in.RawBody...)
	}
	out.Headers = maps.Clone(in.Headers)
	return out
}

// Param returns the value of the parameter with key "in.name".
func (in *Input) Param(key string) (*ParamValue, bool) {
	for i := range in.Params {
		if in.Params[i].Key() == key {
			return &in.Params[i], true
		}
	}
	return nil, false
}

// SentValue is a value as it went on the wire, for correlating with what the
// target did (e.g. files it looked up).
type SentValue struct {
	Target string `json:"target"`
	Value  string `json:"value"`
	// Part, when set, is the part of a file name a server makes of the
	// value: negotiated header values are not names themselves but give
	// tokens (a language tag, a file extension) that names are built with.
	Part NamePart `json:"part,omitempty"`
}

// NamePart says where in a path a token of a negotiated value shows.
type NamePart string

const (
	// PartExtension: a dot-separated part after a name's stem, in its last
	// component ("html" in item.html, "gz" in app.js.gz).
	PartExtension NamePart = "extension"
	// PartTag: a whole component, a stem or a dot-separated part of a name
	// in any component ("fr" in fr.json, messages.fr.json, fr/LC_MESSAGES).
	PartTag NamePart = "tag"
)

// Request is a generated request with what made it.
type Request struct {
	corpus.Request
	Input  Input
	Intent Intent
	// Values lists the scalar values sent, by target.
	Values []SentValue
}

// Mix is the proportion of phases chosen by PickPhase. Zero values mean the default 70/15/15.
type Mix struct {
	Valid, Boundary, Invalid float64
}

// Option configures a Generator.
type Option func(*Generator)

// WithSeed makes generation deterministic.
func WithSeed(seed uint64) Option { return func(g *Generator) { g.seed = seed } }

// WithDictionary shares a value dictionary (e.g. across generators).
func WithDictionary(d *Dictionary) Option { return func(g *Generator) { g.dict = d } }

// WithMaxDepth bounds nesting of generated objects and arrays (default 5).
func WithMaxDepth(n int) Option { return func(g *Generator) { g.maxDepth = n } }

// WithMix sets the proportion of phases PickPhase returns.
func WithMix(m Mix) Option { return func(g *Generator) { g.mix = m } }

// WithLimits records the budgets generation reaches in rec (a value over
// budget is not generated; see OverBudget).
func WithLimits(rec *limits.Recorder) Option { return func(g *Generator) { g.rec = rec } }

// WithValueBudget sets the budget of each generated value: schema nodes
// visited and time (defaults: limits.GenSteps, limits.GenTime).
func WithValueBudget(steps int, d time.Duration) Option {
	return func(g *Generator) { g.maxSteps, g.maxTime = steps, d }
}

// WithExampleBias sets how often (0..1) examples and defaults are preferred
// over random values in the valid phase (default 0.3).
func WithExampleBias(p float64) Option { return func(g *Generator) { g.exampleBias = p } }

// Generator makes values and requests. It is not safe for concurrent use.
type Generator struct {
	spec        *spec.Spec
	rng         *rand.Rand
	seed        uint64
	dict        *Dictionary
	maxDepth    int
	mix         Mix
	exampleBias float64
	vopts       []openapi3.SchemaValidationOption
	names       NameSource

	rec      *limits.Recorder
	maxSteps int
	maxTime  time.Duration
	b        valueBudget
	overOps  map[string]bool
	at       string // the operation being generated, for where a limit is reached
	lastOver bool   // the last paramValue or bodyValue went over budget
	twins    map[*openapi3.Schema]*openapi3.Schema
	branches map[branchKey]*openapi3.Schema
}

// New returns a generator for s (s may be nil when only Value is used).
func New(s *spec.Spec, opts ...Option) *Generator {
	g := &Generator{spec: s, maxDepth: 5, exampleBias: 0.3, maxSteps: limits.GenSteps.Int(), maxTime: limits.GenTime.Duration(),
		overOps: map[string]bool{}, twins: map[*openapi3.Schema]*openapi3.Schema{}, branches: map[branchKey]*openapi3.Schema{}}
	for _, o := range opts {
		o(g)
	}
	g.rng = rand.New(rand.NewPCG(g.seed, g.seed^0x9e3779b97f4a7c15))
	if g.dict == nil {
		g.dict = NewDictionary()
		if s != nil {
			g.dict.AddSpec(s)
		}
	}
	if g.mix == (Mix{}) {
		g.mix = Mix{Valid: 0.7, Boundary: 0.15, Invalid: 0.15}
	}
	// Only whether a value conforms matters here: kin-openapi's messages
	// nest the messages of every allOf and oneOf branch, level by level,
	// which on a recursive schema costs exponentially more than the check.
	g.vopts = []openapi3.SchemaValidationOption{openapi3.SetSchemaRegexCompiler(spec.CompileRegex), openapi3.FailFast()}
	if s != nil && s.Doc != nil && s.Doc.IsOpenAPI31OrLater() {
		g.vopts = append(g.vopts, openapi3.EnableJSONSchema2020())
	}
	return g
}

// Dictionary returns the generator's value dictionary.
func (g *Generator) Dictionary() *Dictionary { return g.dict }

// Rand exposes the generator's random stream so callers stay deterministic with it.
func (g *Generator) Rand() *rand.Rand { return g.rng }

// PickPhase draws a phase according to the mix.
func (g *Generator) PickPhase() Phase {
	total := g.mix.Valid + g.mix.Boundary + g.mix.Invalid
	if total <= 0 {
		return Valid
	}
	x := g.rng.Float64() * total
	switch {
	case x < g.mix.Valid:
		return Valid
	case x < g.mix.Valid+g.mix.Boundary:
		return Boundary
	}
	return Invalid
}

// Validate checks v against s as a request value.
func (g *Generator) Validate(s *openapi3.Schema, v any) error {
	if s == nil {
		return nil
	}
	g.spend(1)
	err := g.checkSchema(s).VisitJSON(v, append(g.vopts, openapi3.VisitAsRequest())...)
	g.inTime()
	return err
}

// visit checks v against s (not as a request: readOnly properties count).
func (g *Generator) visit(s *openapi3.Schema, v any) error {
	g.spend(1)
	err := g.checkSchema(s).VisitJSON(v, g.vopts...)
	g.inTime()
	return err
}

// Value generates one value for s in the given phase. ok is false when no
// value could be made: no valid instance found (Valid, Boundary), or the
// schema accepts everything (Invalid). An Invalid value with ok is known not
// to conform to s.
func (g *Generator) Value(s *openapi3.Schema, phase Phase) (any, Intent, bool) {
	return g.value(s, "", phase, false)
}

// value generates for a named value; textual is set for parameters, whose
// values travel as text (so a number is no wrong type for a string).
func (g *Generator) value(s *openapi3.Schema, name string, phase Phase, textual bool) (v any, intent Intent, ok bool) {
	g.begin()
	defer func() {
		if g.end(g.where(name)) {
			v, intent, ok = nil, Intent{Phase: phase, Kind: "over-budget"}, false
		}
	}()
	switch phase {
	case Boundary:
		if v, kind, ok := g.boundary(s, name); ok {
			return v, Intent{Phase: Boundary, Kind: kind}, true
		}
		fallthrough
	case Valid:
		for range 4 {
			if g.overBudget() {
				break
			}
			v, kind := g.valid(s, name, 0)
			if g.Validate(s, v) == nil {
				return v, Intent{Phase: Valid, Kind: kind}, true
			}
		}
		return nil, Intent{Phase: Valid, Kind: "unsatisfiable"}, false
	default:
		v, kind, ok := g.invalid(s, name, textual)
		return v, Intent{Phase: Invalid, Kind: kind, SchemaInvalid: ok}, ok
	}
}

// where names the value being generated, for the limits it reaches.
func (g *Generator) where(name string) string {
	if name == "" {
		name = "body"
	}
	if g.at == "" {
		return name
	}
	return g.at + " " + name
}

// normalize turns decoded YAML/JSON into JSON's types (float64 numbers,
// map[string]any objects).
func normalize(v any) any {
	switch v.(type) {
	case nil, string, bool, float64:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneValue(e)
		}
		return s
	}
	return v
}
