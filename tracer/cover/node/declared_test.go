package node

import (
	"os"
	"path/filepath"
	"testing"
)

// A script no process loaded still lists its module and the functions it
// declares, with their lines.
func TestDeclaredFunctions(t *testing.T) {
	root := t.TempDir()
	src := "'use strict';\n" + // 1
		"function toKelvin(c) { return c + 273.15; }\n" + // 2
		"const fromKelvin = (k) => k - 273.15;\n" + // 3
		"// é: a comment with a multi-byte rune\n" + // 4
		"export async function* readings() {}\n" + // 5
		"let label = 'K';\n" + // 6: not a function
		"module.exports = { toKelvin, fromKelvin };\n"
	if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "srv/kelvin.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	est, declared := estimateFunctions(root, []string{"/srv/kelvin.js"})
	if est["/srv/kelvin.js"] != 4 {
		t.Errorf("estimate %d, want 4", est["/srv/kelvin.js"])
	}
	got := map[string]int{}
	for _, f := range declared["/srv/kelvin.js"] {
		got[f.Name] = f.Line
	}
	want := map[string]int{"": 1, "toKelvin": 2, "fromKelvin": 3, "readings": 5}
	if len(got) != len(want) {
		t.Errorf("declared %v, want %v", got, want)
	}
	for name, line := range want {
		if got[name] != line {
			t.Errorf("%q at line %d, want %d (all: %v)", name, got[name], line, got)
		}
	}
}
