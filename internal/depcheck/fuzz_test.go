package depcheck

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// fuzzImports states which packages of fuzz each package of fuzz may
// import. The root, fuzz (the loop), uses its leaves; a leaf never imports
// the root, and of the other leaves only those listed here. A new package
// of fuzz gets a line of its own. Tests may also use the fixtures of
// fuzz/internal.
var fuzzImports = map[string][]string{
	"fuzz":                    {"fuzz/spec", "fuzz/gen", "fuzz/param", "fuzz/links", "fuzz/oracle", "fuzz/inputsel", "fuzz/upkeep", "fuzz/crawl", "fuzz/crawl/browser"},
	"fuzz/spec":               {},
	"fuzz/gen":                {"fuzz/spec"},
	"fuzz/param":              {"fuzz/spec", "fuzz/gen"},
	"fuzz/links":              {"fuzz/spec", "fuzz/gen", "fuzz/param"},
	"fuzz/oracle":             {"fuzz/spec", "fuzz/gen"},
	"fuzz/inputsel":           {"fuzz/spec", "fuzz/gen", "fuzz/param"},
	"fuzz/upkeep":             {"fuzz/spec", "fuzz/gen", "fuzz/param", "fuzz/links"},
	"fuzz/crawl":              {},
	"fuzz/crawl/browser":      {},
	"fuzz/internal/testspecs": {"fuzz/spec"},
	"fuzz/internal/fakeimage": {},
}

func TestFuzzLeavesDoNotImportTheLoop(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/fuzz/...").Output()
	if err != nil {
		t.Fatalf("go list fuzz/...: %v", err)
	}
	fuzzPkgs := func(s string) []string {
		var out []string
		for _, imp := range strings.Fields(s) {
			if imp = strings.TrimPrefix(imp, module+"/"); imp == "fuzz" || strings.HasPrefix(imp, "fuzz/") {
				out = append(out, imp)
			}
		}
		return out
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		pkg := strings.TrimPrefix(parts[0], module+"/")
		allowed, ok := fuzzImports[pkg]
		if !ok {
			t.Errorf("%s is missing from fuzzImports: say which packages of fuzz it may import", pkg)
			continue
		}
		seen++
		for _, imp := range fuzzPkgs(parts[1]) {
			if !slices.Contains(allowed, imp) {
				t.Errorf("%s imports %s; it may import %v", pkg, imp, allowed)
			}
		}
		for _, imp := range fuzzPkgs(parts[2]) {
			if imp != pkg && !slices.Contains(allowed, imp) && !strings.HasPrefix(imp, "fuzz/internal/") {
				t.Errorf("the tests of %s import %s; they may import %v and fuzz/internal", pkg, imp, allowed)
			}
		}
	}
	if seen != len(fuzzImports) {
		t.Errorf("go list found %d of the %d packages of fuzzImports", seen, len(fuzzImports))
	}
}
