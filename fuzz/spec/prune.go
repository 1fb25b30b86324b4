package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/whittle-dev/whittle/internal/limits"
)

// A spec with more operations than a run fuzzes (limits.SpecOperations) is
// cut to an even spread of them before kin-openapi loads it: loading and
// validating 40,000 operations takes minutes and gigabytes, and a run could
// not send each one a request anyway. The cut keeps every path item that a
// $ref points into, so the document still resolves.

var operationKeys = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true, "query": true,
}

type opKey struct{ path, method string }

// spread picks n of the operations, evenly, in the order extract sorts them
// (by path, then method rank).
func spread(ops []opKey, n int) map[opKey]bool {
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].path != ops[j].path {
			return ops[i].path < ops[j].path
		}
		ri, rj := methodRank(strings.ToUpper(ops[i].method)), methodRank(strings.ToUpper(ops[j].method))
		if ri != rj {
			return ri < rj
		}
		return ops[i].method < ops[j].method
	})
	keep := make(map[opKey]bool, n)
	for i := range n {
		keep[ops[i*len(ops)/n]] = true
	}
	return keep
}

// referencedPaths are the path items $refs point into ("#/paths/~1a/get/..." → "/a").
func referencedPaths(sh *shape) map[string]bool {
	out := map[string]bool{}
	for _, target := range sh.refs {
		rest, ok := strings.CutPrefix(target, "#/paths/")
		if !ok {
			continue
		}
		tok, _, _ := strings.Cut(rest, "/")
		out[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")] = true
	}
	return out
}

// pruned is a document cut to the operations a run fuzzes (keep; the
// document also holds the path items $refs point into).
type pruned struct {
	data        []byte
	keep        map[opKey]bool
	total, kept int
}

func (p *pruned) warning() string {
	return fmt.Sprintf("the spec has %d operations, more than the %d a run fuzzes (limit %s): fuzzing an even spread of %d of them in path order; to choose them, pass a spec of those operations",
		p.total, limits.SpecOperations.Value, limits.SpecOperations.Name, p.kept)
}

// pruneJSON cuts a document decoded by encoding/json (with UseNumber);
// nil when it has no more operations than the limit.
func pruneJSON(top map[string]any, sh *shape) (*pruned, error) {
	paths, _ := top["paths"].(map[string]any)
	var ops []opKey
	for p, item := range paths {
		if m, ok := item.(map[string]any); ok {
			for k := range m {
				if operationKeys[k] {
					ops = append(ops, opKey{p, k})
				}
			}
		}
	}
	max := limits.SpecOperations.Int()
	if len(ops) <= max {
		return nil, nil
	}
	keep, refd := spread(ops, max), referencedPaths(sh)
	for p, item := range paths {
		m, ok := item.(map[string]any)
		if !ok || refd[p] {
			continue
		}
		removed := false
		for k := range m {
			if operationKeys[k] && !keep[opKey{p, k}] {
				delete(m, k)
				removed = true
			}
		}
		if removed && !hasOperation(m) {
			delete(paths, p)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return nil, err
	}
	return &pruned{data: buf.Bytes(), keep: keep, total: len(ops), kept: max}, nil
}

func hasOperation(m map[string]any) bool {
	for k := range m {
		if operationKeys[k] {
			return true
		}
	}
	return false
}

// pruneYAML cuts a YAML document's node tree; nil when it has no more
// operations than the limit.
func pruneYAML(doc *yaml.Node, sh *shape) (*pruned, error) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	paths := mappingValue(root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return nil, nil
	}
	var ops []opKey
	for i := 0; i+1 < len(paths.Content); i += 2 {
		item := paths.Content[i+1]
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			if k := item.Content[j].Value; operationKeys[k] {
				ops = append(ops, opKey{paths.Content[i].Value, k})
			}
		}
	}
	max := limits.SpecOperations.Int()
	if len(ops) <= max {
		return nil, nil
	}
	keep, refd := spread(ops, max), referencedPaths(sh)
	var items []*yaml.Node
	for i := 0; i+1 < len(paths.Content); i += 2 {
		p, item := paths.Content[i].Value, paths.Content[i+1]
		removed := false
		if item.Kind == yaml.MappingNode && !refd[p] {
			var content []*yaml.Node
			for j := 0; j+1 < len(item.Content); j += 2 {
				k := item.Content[j].Value
				if !operationKeys[k] || keep[opKey{p, k}] {
					content = append(content, item.Content[j], item.Content[j+1])
				} else {
					removed = true
				}
			}
			item.Content = content
		}
		n := 0
		for j := 0; item.Kind == yaml.MappingNode && j+1 < len(item.Content); j += 2 {
			if operationKeys[item.Content[j].Value] {
				n++
			}
		}
		if n > 0 || !removed {
			items = append(items, paths.Content[i], item)
		}
	}
	paths.Content = items
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &pruned{data: data, keep: keep, total: len(ops), kept: max}, nil
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
