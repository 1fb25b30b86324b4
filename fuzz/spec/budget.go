package spec

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"

	"github.com/whittle-dev/whittle/internal/limits"
)

// What a spec costs to load grows with its size, and faster than that in
// places: kin-openapi's YAML decoding (which it uses for JSON documents too)
// compares every key of an object with every other, and resolving a chain
// of $refs costs the square of its length. A spec the target serves is
// hostile input, held to lower caps than the user's own file; both are
// measured before kin-openapi sees them.

// caps are the budgets of one spec load.
type caps struct {
	bytes, nodes, keys limits.Limit
	discovered         bool
}

func capsFor(discovered bool) caps {
	if discovered {
		return caps{limits.DiscoveredSpecBytes, limits.DiscoveredSpecNodes, limits.DiscoveredSpecKeys, true}
	}
	return caps{limits.SpecBytes, limits.SpecNodes, limits.SpecKeys, false}
}

// overLimit is a document over one of the caps.
type overLimit struct {
	limit      limits.Limit
	detail     string // what exceeded it, e.g. "too many values"
	discovered bool
}

func (e *overLimit) Error() string {
	whose := ""
	if e.discovered {
		whose = " for a spec served by the target"
	}
	return fmt.Sprintf("%s, over the limit of %s%s (%s)", e.detail, e.limit.Format(), whose, e.limit.Name)
}

// budget measures the documents of one load against its caps: values
// (YAML aliases counted expanded), keys per object, nesting, bytes and
// documents read through $refs, and the length of $ref chains.
type budget struct {
	caps caps
	rec  *limits.Recorder

	mu        sync.Mutex
	bytes     int64
	nodes     int64
	documents int
}

func newBudget(c caps, rec *limits.Recorder) *budget { return &budget{caps: c, rec: rec} }

// read accounts for n more bytes of documents.
func (b *budget) read(n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bytes += int64(n)
	if b.bytes > b.caps.bytes.Value {
		what := "the document is too large"
		if b.documents > 0 {
			what = "the documents its $refs read are too large"
		}
		return b.hit(b.caps.bytes, what)
	}
	return nil
}

// document accounts for one more document read through a $ref.
func (b *budget) document() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.documents++
	if int64(b.documents) > limits.SpecDocuments.Value {
		return b.hit(limits.SpecDocuments, "$refs read too many documents")
	}
	return nil
}

func (b *budget) hit(l limits.Limit, detail string) error {
	b.rec.Hit(l, detail)
	return &overLimit{limit: l, detail: detail, discovered: b.caps.discovered}
}

// shape is what measuring one document found.
type shape struct {
	// refs maps the JSON pointer of each object holding a $ref into the
	// document itself ("#/...") to the pointer it names.
	refs map[string]string
}

// measure walks a parsed document (encoding/json's values, or a YAML node)
// and counts it against the budget.
func (b *budget) measure(doc any) (*shape, error) {
	m := &measurer{b: b, sh: &shape{refs: map[string]string{}}, aliases: map[*yaml.Node]int64{}}
	switch d := doc.(type) {
	case *yaml.Node:
		m.yamlNode(d, 0)
	default:
		m.value(d, 0)
	}
	b.mu.Lock()
	b.nodes += m.nodes
	total := b.nodes
	b.mu.Unlock()
	if m.err == nil && total > b.caps.nodes.Value {
		m.err = b.hit(b.caps.nodes, "too many values")
	}
	if m.err != nil {
		return nil, m.err
	}
	if err := b.checkChains(m.sh.refs); err != nil {
		return nil, err
	}
	return m.sh, nil
}

type measurer struct {
	b     *budget
	sh    *shape
	nodes int64
	path  []string // pointer tokens of the node being walked
	err   error
	// aliases memoises the expanded size of aliased YAML nodes, so that
	// a "billion laughs" document is counted without being walked.
	aliases map[*yaml.Node]int64
}

func (m *measurer) stop() bool { return m.err != nil }

func (m *measurer) count(n int64, depth int) {
	m.nodes += n
	switch {
	case m.nodes > m.b.caps.nodes.Value:
		m.err = m.b.hit(m.b.caps.nodes, "too many values")
	case depth > limits.SpecNesting.Int():
		m.err = m.b.hit(limits.SpecNesting, "values nested too deep at "+m.pointer())
	}
}

func (m *measurer) keys(n int) {
	// The operations are counted (and cut) on their own: a paths object
	// with many keys is left to that.
	if n > m.b.caps.keys.Int() && !(len(m.path) == 1 && m.path[0] == "paths") {
		m.err = m.b.hit(m.b.caps.keys, fmt.Sprintf("an object of %d keys at %s", n, m.pointer()))
	}
}

func (m *measurer) pointer() string {
	if len(m.path) == 0 {
		return "#"
	}
	var sb strings.Builder
	sb.WriteString("#")
	for _, p := range m.path {
		sb.WriteByte('/')
		sb.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

func (m *measurer) ref(ref string) {
	if target, ok := localPointer(ref); ok {
		m.sh.refs[m.pointer()] = target
	}
}

// value walks encoding/json's decoding of a document.
func (m *measurer) value(v any, depth int) {
	if m.stop() {
		return
	}
	m.count(1, depth)
	switch x := v.(type) {
	case map[string]any:
		m.keys(len(x))
		if r, ok := x["$ref"].(string); ok {
			m.ref(r)
		}
		for k, e := range x {
			if m.stop() {
				return
			}
			m.path = append(m.path, k)
			m.value(e, depth+1)
			m.path = m.path[:len(m.path)-1]
		}
	case []any:
		for i, e := range x {
			if m.stop() {
				return
			}
			m.path = append(m.path, fmt.Sprint(i))
			m.value(e, depth+1)
			m.path = m.path[:len(m.path)-1]
		}
	}
}

// yamlNode walks a YAML node tree; aliases count as what they expand to.
func (m *measurer) yamlNode(n *yaml.Node, depth int) {
	if m.stop() || n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			m.yamlNode(c, depth)
		}
		return
	case yaml.AliasNode:
		m.count(m.expanded(n.Alias, depth, map[*yaml.Node]bool{}), depth)
		return
	}
	m.count(1, depth)
	switch n.Kind {
	case yaml.MappingNode:
		m.keys(len(n.Content) / 2)
		for i := 0; i+1 < len(n.Content) && !m.stop(); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "$ref" && v.Kind == yaml.ScalarNode {
				m.ref(v.Value)
			}
			m.path = append(m.path, k.Value)
			m.yamlNode(v, depth+1)
			m.path = m.path[:len(m.path)-1]
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if m.stop() {
				return
			}
			m.path = append(m.path, fmt.Sprint(i))
			m.yamlNode(c, depth+1)
			m.path = m.path[:len(m.path)-1]
		}
	}
}

// expanded is the number of values n stands for with its aliases expanded
// (an alias of an ancestor, a cycle, counts as one).
func (m *measurer) expanded(n *yaml.Node, depth int, onPath map[*yaml.Node]bool) int64 {
	if n == nil || onPath[n] {
		return 1
	}
	if c, ok := m.aliases[n]; ok {
		return c
	}
	if depth > limits.SpecNesting.Int() {
		return m.b.caps.nodes.Value + 1
	}
	onPath[n] = true
	defer delete(onPath, n)
	var c int64 = 1
	if n.Kind == yaml.AliasNode {
		c = m.expanded(n.Alias, depth, onPath)
	}
	for _, ch := range n.Content {
		c += m.expanded(ch, depth+1, onPath)
		if c > m.b.caps.nodes.Value {
			break // over the cap anyway: stop counting
		}
	}
	m.aliases[n] = c
	return c
}

// localPointer is the JSON pointer a $ref into the same document names
// ("#/components/schemas/A" → "#/components/schemas/A", unescaped from URL
// encoding); ok is false for other documents.
func localPointer(ref string) (string, bool) {
	if !strings.HasPrefix(ref, "#") {
		return "", false
	}
	frag := ref[1:]
	if u, err := url.PathUnescape(frag); err == nil {
		frag = u
	}
	return "#" + frag, true
}

// checkChains refuses a $ref chain (an object that is a $ref naming an
// object that is a $ref ...) longer than limits.RefChain: kin-openapi
// resolves one in time quadratic in its length. Cycles are left to
// kin-openapi, which refuses them.
func (b *budget) checkChains(refs map[string]string) error {
	hops := map[string]int{}
	const visiting = -1
	var follow func(p string) int
	follow = func(p string) int {
		if h, ok := hops[p]; ok {
			if h == visiting {
				return 0
			}
			return h
		}
		target, ok := refs[p]
		if !ok {
			return 0
		}
		hops[p] = visiting
		h := 1 + follow(target)
		hops[p] = h
		return h
	}
	longest, from := 0, ""
	for p := range refs {
		if h := follow(p); h > longest || (h == longest && p < from) {
			longest, from = h, p
		}
	}
	if longest > limits.RefChain.Int() {
		return b.hit(limits.RefChain, fmt.Sprintf("a chain of %d $refs from %s", longest, from))
	}
	return nil
}

// limitError turns what a budget refused into the LoadError the user sees.
func limitError(source string, err error) error {
	var ol *overLimit
	if !errors.As(err, &ol) {
		return err
	}
	fix := "pass a smaller document"
	if ol.discovered {
		fix = FixPassSpec
	}
	return &LoadError{Source: source, Kind: ErrTooLarge, Problem: err.Error(), Fix: fix}
}
