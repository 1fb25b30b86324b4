package cobertura

import (
	"bytes"
	"encoding/xml"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/report/covdata/covtest"
)

// coverage04 is the content model of Cobertura's coverage-04.dtd
// (cobertura.sourceforge.net/xml/coverage-04.dtd, the DTD Cobertura 2.x
// and its readers use): each element's children as a regular expression
// over their names, and its required attributes. Elements the DTD does not
// declare are invalid.
var coverage04 = map[string]struct {
	children string
	required []string
	optional []string
}{
	"coverage":   {"(sources )?packages ", []string{"line-rate", "branch-rate", "lines-covered", "lines-valid", "branches-covered", "branches-valid", "complexity", "version", "timestamp"}, nil},
	"sources":    {"(source )*", nil, nil},
	"source":     {"", nil, nil}, // #PCDATA
	"packages":   {"(package )*", nil, nil},
	"package":    {"classes ", []string{"name", "line-rate", "branch-rate", "complexity"}, nil},
	"classes":    {"(class )*", nil, nil},
	"class":      {"methods lines ", []string{"name", "filename", "line-rate", "branch-rate", "complexity"}, nil},
	"methods":    {"(method )*", nil, nil},
	"method":     {"lines ", []string{"name", "signature", "line-rate", "branch-rate", "complexity"}, nil},
	"lines":      {"(line )*", nil, nil},
	"line":       {"(conditions )*", []string{"number", "hits"}, []string{"branch", "condition-coverage"}},
	"conditions": {"(condition )*", nil, nil},
	"condition":  {"", []string{"number", "type", "coverage"}, nil},
}

type node struct {
	name     string
	attrs    map[string]string
	children []*node
	text     string
}

// validate checks the document against coverage04 and returns its root.
func validate(t *testing.T, data []byte) *node {
	t.Helper()
	if !bytes.Contains(data, []byte(DocType)) {
		t.Errorf("no coverage-04.dtd document type declaration")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &node{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tk)
			}
		}
	}
	if root == nil || root.name != "coverage" {
		t.Fatalf("root element %v, want coverage", root)
	}
	var check func(n *node, path string)
	check = func(n *node, path string) {
		path += "/" + n.name
		model, ok := coverage04[n.name]
		if !ok {
			t.Errorf("%s: element not declared by coverage-04.dtd", path)
			return
		}
		var names strings.Builder
		for _, c := range n.children {
			names.WriteString(c.name + " ")
		}
		if !regexp.MustCompile("^" + model.children + "$").MatchString(names.String()) {
			t.Errorf("%s: children %q do not match (%s)", path, names.String(), model.children)
		}
		if model.children != "" && strings.TrimSpace(n.text) != "" {
			t.Errorf("%s: text in element content", path)
		}
		for _, a := range model.required {
			if _, ok := n.attrs[a]; !ok {
				t.Errorf("%s: required attribute %s missing", path, a)
			}
		}
		for a := range n.attrs {
			if !contains(model.required, a) && !contains(model.optional, a) {
				t.Errorf("%s: attribute %s not declared", path, a)
			}
		}
		for _, c := range n.children {
			check(c, path)
		}
	}
	check(root, "")
	return root
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func rateOf(t *testing.T, n *node) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attrs["line-rate"], 64)
	if err != nil || v < 0 || v > 1 {
		t.Fatalf("%s line-rate %q", n.name, n.attrs["line-rate"])
	}
	return v
}

func TestWriteFollowsCoverage04(t *testing.T) {
	root := covtest.WriteSources(t)
	var buf bytes.Buffer
	left, err := Write(&buf, covtest.Coverage(), covtest.PathMap(t, root), Options{Version: "test", Sources: []string{root}, Time: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if left != 2 {
		t.Errorf("%d functions left out, want 2", left)
	}
	doc := validate(t, buf.Bytes())
	if doc.attrs["timestamp"] != "1700000000000" || doc.attrs["lines-valid"] == "0" {
		t.Errorf("coverage attributes %v", doc.attrs)
	}
	methods := map[string]float64{}
	files := map[string]*node{}
	for _, pkg := range doc.children[1].children {
		for _, cl := range pkg.children[0].children {
			files[cl.attrs["filename"]] = cl
			for _, m := range cl.children[0].children {
				methods[m.attrs["name"]] = rateOf(t, m)
			}
		}
	}
	for name, want := range map[string]float64{"main.handleList": 1, "main.compactStore": 0, "list_pets": 0.75, "purge_tombstones": 0} {
		if got, ok := methods[name]; !ok || got != want {
			t.Errorf("method %s line-rate %v (%v), want %v", name, got, ok, want)
		}
	}
	views := files[filepath.Join(root, "app/views.py")]
	if views == nil {
		t.Fatalf("no class for views.py: %v", files)
	}
	lines := map[string]string{}
	for _, l := range views.children[1].children {
		lines[l.attrs["number"]] = l.attrs["hits"]
	}
	if lines["6"] != "0" || lines["5"] != "1" || lines["9"] != "0" && lines["9"] != "1" {
		t.Errorf("views.py lines %v", lines)
	}
}

// A class with no measured line still has its methods and lines elements:
// the DTD requires them.
func TestEmptyElementsStay(t *testing.T) {
	c := covtest.Coverage()
	c.Functions = c.Functions[:0]
	var buf bytes.Buffer
	if _, err := Write(&buf, c, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	validate(t, buf.Bytes())
}
