package lcov

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/report/covdata/covtest"
)

// checkTracefile checks data against the tracefile format geninfo(1)
// describes: records from SF to end_of_record; FN:<line>,<name> then
// FNDA:<count>,<name> of a declared function; FNF and FNH count them;
// DA:<line>,<count>; LF and LH count the DA lines and those hit.
func checkTracefile(t *testing.T, data []byte) (fnda map[string]int, da map[string]map[int]int) {
	t.Helper()
	fnda, da = map[string]int{}, map[string]map[int]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var file string
	var fns map[string]bool
	var fnf, fnh, lf, lh int
	n := 0
	num := func(s string) int {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("line %d: %q is not a count or line number", n, s)
		}
		return v
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		key, val, _ := strings.Cut(line, ":")
		if file == "" && key != "TN" && key != "SF" {
			t.Fatalf("line %d: %q outside a record", n, line)
		}
		switch key {
		case "TN":
		case "SF":
			if file != "" {
				t.Fatalf("line %d: SF inside the record of %s", n, file)
			}
			file, fns, da[val] = val, map[string]bool{}, map[int]int{}
			fnf, fnh, lf, lh = 0, 0, 0, 0
		case "FN":
			l, name, ok := strings.Cut(val, ",")
			if !ok || num(l) == 0 || name == "" || strings.Contains(name, ",") {
				t.Fatalf("line %d: bad FN %q", n, line)
			}
			fns[name] = true
			fnf++
		case "FNDA":
			c, name, ok := strings.Cut(val, ",")
			if !ok || !fns[name] {
				t.Fatalf("line %d: FNDA of an undeclared function: %q", n, line)
			}
			fnda[file+":"+name] = num(c)
			if num(c) > 0 {
				fnh++
			}
		case "FNF":
			if num(val) != fnf {
				t.Errorf("%s: FNF %s, %d functions", file, val, fnf)
			}
		case "FNH":
			if num(val) != fnh {
				t.Errorf("%s: FNH %s, %d hit", file, val, fnh)
			}
		case "DA":
			l, c, ok := strings.Cut(val, ",")
			if !ok || num(l) == 0 {
				t.Fatalf("line %d: bad DA %q", n, line)
			}
			da[file][num(l)] = num(c)
			lf++
			if num(c) > 0 {
				lh++
			}
		case "LF":
			if num(val) != lf {
				t.Errorf("%s: LF %s, %d lines", file, val, lf)
			}
		case "LH":
			if num(val) != lh {
				t.Errorf("%s: LH %s, %d hit", file, val, lh)
			}
		case "end_of_record":
			file = ""
		default:
			t.Fatalf("line %d: unknown record %q", n, line)
		}
	}
	if file != "" {
		t.Fatalf("record of %s not ended", file)
	}
	return fnda, da
}

func TestWriteIsATracefile(t *testing.T) {
	root := covtest.WriteSources(t)
	var buf bytes.Buffer
	left, err := Write(&buf, covtest.Coverage(), covtest.PathMap(t, root))
	if err != nil {
		t.Fatal(err)
	}
	if left != 2 {
		t.Errorf("%d functions left out, want 2 (no file; a file the map does not name)", left)
	}
	fnda, da := checkTracefile(t, buf.Bytes())
	main, views := filepath.Join(root, "main.go"), filepath.Join(root, "app/views.py")
	for fn, want := range map[string]int{
		main + ":main.handleList": 1, main + ":main.compactStore": 0, main + ":main.main": 1,
		views + ":list_pets": 1, views + ":purge_tombstones": 0,
	} {
		if got, ok := fnda[fn]; !ok || got != want {
			t.Errorf("FNDA %s = %d (%v), want %d", fn, got, ok, want)
		}
	}
	if da[views][6] != 0 || da[views][5] != 1 || da[views][9] != 1 {
		t.Errorf("views.py lines: %v (6 missed, 5 and 9 hit)", da[views])
	}
	if c, ok := da[main][11]; !ok || c != 0 {
		t.Errorf("main.go: the never-hit function's line is not missed: %v", da[main])
	}
}

// genhtml (Debian's lcov package) reads the export without a complaint and
// its HTML shows each function as hit or not.
func TestGenhtmlReadsTheExport(t *testing.T) {
	root := covtest.WriteSources(t)
	info := filepath.Join(t.TempDir(), "cover.info")
	f, err := os.Create(info)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(f, covtest.Coverage(), covtest.PathMap(t, root)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	funcs := covtest.Genhtml(t, info)
	for name, want := range map[string]int{"main.handleList": 1, "main.compactStore": 0, "list_pets": 1, "purge_tombstones": 0} {
		if got, ok := funcs[name]; !ok || got != want {
			t.Errorf("genhtml shows %s with %d hits (listed %v), want %d", name, got, ok, want)
		}
	}
}

func TestNamesFitTheRecords(t *testing.T) {
	if got := name("pkg.F[go.shape.int,go.shape.string]\n"); got != "pkg.F[go.shape.int;go.shape.string] " {
		t.Errorf("name = %q", got)
	}
}
