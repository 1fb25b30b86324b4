package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Library packages are used by more than this command: their messages name
// no option of whittle's command line and no script of this repository.
// The command layer says those (hints.go). Every string literal of the
// library packages' non-test files is checked against every flag of every
// whittle command.
func TestLibraryMessagesNameNoFlags(t *testing.T) {
	if !strings.Contains(readFile(t, filepath.Join("..", "..", "tracer", "cover", "node", "scope.go")), foreignOptionsMarker) {
		t.Fatalf("no declaration of node/scope.go carries %q any more: update the marker", foreignOptionsMarker)
	}
	flags := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { flags[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(newRootCommand(nil, nil, nil))
	if !flags["spec"] || !flags["port"] || !flags["corpus"] {
		t.Fatalf("flags %v: the command tree was not walked", flags)
	}
	var names []string
	for f := range flags {
		names = append(names, regexp.QuoteMeta(f))
	}
	makefile, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		targets = append(targets, m[1])
	}
	forbidden := regexp.MustCompile(`(^|[^-\w])--(` + strings.Join(names, "|") + `)\b|\bscripts/|\bmake (` + strings.Join(targets, "|") + `)\b`)

	// Test helpers that say how to build what a test needs are not libraries.
	testSupport := []string{"internal/testimage", "tracer/internal/fixture"}
	root := filepath.Join("..", "..")
	checked := 0
	for _, lib := range []string{"probe", "fuzz", "tracer", "rebuild", "corpus", "pipeline", "report", "seccomp", "event", "verify", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, lib), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				for _, s := range testSupport {
					if rel == s {
						return filepath.SkipDir
					}
				}
				if d.Name() == "testdata" || d.Name() == "cmd" {
					return filepath.SkipDir // tracer/cmd holds tools with their own flags
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, p, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				// Another program's command-line grammar (node's options, say)
				// is data, not advice: its declaration says so.
				if d, ok := n.(*ast.GenDecl); ok && d.Doc != nil && strings.Contains(d.Doc.Text(), foreignOptionsMarker) {
					return false
				}
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					s = lit.Value
				}
				if m := forbidden.FindString(s); m != "" {
					t.Errorf("%s: %q names %q: say it in the command layer (cmd/whittle/hints.go)", fset.Position(lit.Pos()), s, strings.TrimSpace(m))
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d files", checked)
	}
}

// foreignOptionsMarker in a declaration's comment exempts its literals: they
// are another program's options, not whittle's.
const foreignOptionsMarker = "another program's options"

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
