package covdata

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sample() *Coverage {
	c := &Coverage{Kind: "python-lines", Started: t0, Functions: []Function{
		{File: "/app/pets/main.py", Line: 10, Name: "list_pets", Package: "/app/pets", State: Requests, FirstHit: 1500 * time.Millisecond, Operation: "GET /pets", LinesHit: []int{10, 11, 12, 14}},
		{File: "/app/pets/main.py", Line: 20, Name: "never_called", Package: "/app/pets", State: Never},
		{File: "/app/pets/main.py", Line: 1, Name: "<module>", Package: "/app/pets", State: Startup, FirstHit: 20 * time.Millisecond, LinesHit: []int{1, 2, 3}},
		{File: "/app/pets/store.py", Line: 5, EndLine: 9, Name: "get", Package: "/app/pets", State: Background, FirstHit: time.Minute, LinesMissed: []int{7}},
		{Name: "strlen", Package: "/usr/bin/x", State: Requests, Operation: "POST /pets"},
	}}
	c.Sort()
	c.Summarize()
	return c
}

func TestTableRoundTrip(t *testing.T) {
	c := sample()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	// Files, packages and operations are written once.
	if n := strings.Count(string(data), `"/app/pets/main.py"`); n != 1 {
		t.Errorf("file written %d times: %s", n, data)
	}
	var back Coverage
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Started.Equal(c.Started) {
		t.Errorf("started %v, want %v", back.Started, c.Started)
	}
	back.Started = c.Started
	if !reflect.DeepEqual(&back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, *c)
	}
	total, hit, startup, requests := back.Totals()
	if total != 5 || hit != 4 || startup != 1 || requests != 2 {
		t.Errorf("totals %d %d %d %d", total, hit, startup, requests)
	}
}

func TestTableRejectsBadRows(t *testing.T) {
	good, _ := json.Marshal(sample())
	for name, edit := range map[string]func(string) string{
		"columns":       func(s string) string { return strings.Replace(s, `"file","line"`, `"line","file"`, 1) },
		"file index":    func(s string) string { return strings.Replace(s, `"rows":[[0,`, `"rows":[[9,`, 1) },
		"state":         func(s string) string { return strings.Replace(s, `"startup"`, `"sometimes"`, 1) },
		"lines":         func(s string) string { return strings.Replace(s, `"1-3"`, `"3-1"`, 1) },
		"short row":     func(s string) string { return strings.Replace(s, `"rows":[[0,`, `"rows":[[`, 1) },
		"huge range":    func(s string) string { return strings.Replace(s, `"1-3"`, `"1-99999999"`, 1) },
		"negative line": func(s string) string { return strings.Replace(s, `"1-3"`, `"-1"`, 1) },
	} {
		bad := edit(string(good))
		if bad == string(good) {
			t.Fatalf("%s: edit changed nothing in %s", name, good)
		}
		var c Coverage
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		lines []int
		s     string
	}{{nil, ""}, {[]int{3}, "3"}, {[]int{3, 4, 5, 9, 12, 13}, "3-5,9,12-13"}} {
		if got := FormatLines(tc.lines); got != tc.s {
			t.Errorf("FormatLines(%v) = %q, want %q", tc.lines, got, tc.s)
		}
		back, err := ParseLines(tc.s)
		if err != nil || !reflect.DeepEqual(back, tc.lines) {
			t.Errorf("ParseLines(%q) = %v, %v", tc.s, back, err)
		}
	}
	for _, bad := range []string{"x", "0", "5-3", "1,,2", "1-", "-"} {
		if _, err := ParseLines(bad); err == nil {
			t.Errorf("ParseLines(%q) accepted", bad)
		}
	}
}

func TestMerge(t *testing.T) {
	a := sample()
	b := &Coverage{Kind: "python-lines", Started: t0.Add(time.Hour), Functions: []Function{
		// Hit by a request in B, never in A.
		{File: "/app/pets/main.py", Line: 20, Name: "never_called", Package: "/app/pets", State: Requests, FirstHit: time.Second, Operation: "DELETE /pets/{id}", LinesHit: []int{20, 21}},
		// Earlier by requests in B than in A: B's time and operation.
		{File: "/app/pets/main.py", Line: 10, Name: "list_pets", Package: "/app/pets", State: Requests, FirstHit: 500 * time.Millisecond, Operation: "GET /pets/{id}", LinesHit: []int{13}},
		// Hit at start-up in B: start-up wins over background.
		{File: "/app/pets/store.py", Line: 5, EndLine: 9, Name: "get", Package: "/app/pets", State: Startup, LinesHit: []int{7}},
		{File: "/app/pets/new.py", Line: 1, Name: "<module>", Package: "/app/pets", State: Never},
	}}
	b.Summarize()
	m := Merge(a, nil, b)
	by := map[string]Function{}
	for _, f := range m.Functions {
		by[f.Name+"@"+f.File] = f
	}
	if f := by["never_called@/app/pets/main.py"]; f.State != Requests || f.Operation != "DELETE /pets/{id}" {
		t.Errorf("never_called: %+v", f)
	}
	if f := by["list_pets@/app/pets/main.py"]; f.FirstHit != 500*time.Millisecond || f.Operation != "GET /pets/{id}" ||
		!reflect.DeepEqual(f.LinesHit, []int{10, 11, 12, 13, 14}) {
		t.Errorf("list_pets: %+v", f)
	}
	if f := by["get@/app/pets/store.py"]; f.State != Startup || len(f.LinesMissed) != 0 || !reflect.DeepEqual(f.LinesHit, []int{7}) {
		t.Errorf("get: %+v (a line hit in one run is not missed)", f)
	}
	if len(m.Functions) != 6 || !m.Started.Equal(t0) {
		t.Errorf("%d functions, started %v", len(m.Functions), m.Started)
	}
	total, hit, _, _ := m.Totals()
	if total != 6 || hit != 5 {
		t.Errorf("merged totals: %d functions, %d hit", total, hit)
	}
	if Merge() != nil || Merge(nil) != nil {
		t.Error("merge of nothing is not nil")
	}
}

func TestDiff(t *testing.T) {
	a := sample()
	b := sample()
	for i := range b.Functions {
		switch b.Functions[i].Name {
		case "list_pets":
			b.Functions[i].State = Never
		case "never_called":
			b.Functions[i].State = Requests
		}
	}
	b.Summarize()
	d := Diff(a, b)
	names := func(fns []Function) (out []string) {
		for _, f := range fns {
			out = append(out, f.Name)
		}
		return out
	}
	if got := names(d.OnlyA); !reflect.DeepEqual(got, []string{"list_pets"}) {
		t.Errorf("only A: %v", got)
	}
	if got := names(d.OnlyB); !reflect.DeepEqual(got, []string{"never_called"}) {
		t.Errorf("only B: %v", got)
	}
}

func TestBoundKeepsHitFunctions(t *testing.T) {
	c := &Coverage{}
	for i := 0; i < 100; i++ {
		st := Never
		if i%10 == 0 {
			st = Requests
		}
		c.Functions = append(c.Functions, Function{File: "/a.py", Line: i + 1, Name: "f", Package: "/", State: st})
	}
	c.Summarize()
	c.Bound(20)
	hit := 0
	for _, f := range c.Functions {
		if f.State.Hit() {
			hit++
		}
	}
	if len(c.Functions) != 20 || hit != 10 || c.Omitted != 80 {
		t.Errorf("%d functions, %d hit, %d omitted", len(c.Functions), hit, c.Omitted)
	}
	if total, h, _, _ := c.Totals(); total != 100 || h != 10 {
		t.Errorf("totals %d/%d after bounding", h, total)
	}
}

func TestPathMap(t *testing.T) {
	m, err := ParsePathMap([]string{"/app=src", "/app/vendor=third_party/", "github.com/acme/shop=.", "/=root"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/app/main.py":                  "src/main.py",
		"/app/vendor/x.py":              "third_party/x.py",
		"/apple/x.py":                   "root/apple/x.py",
		"github.com/acme/shop/api/x.go": "api/x.go",
		"github.com/acme/shopper/x.go":  "github.com/acme/shopper/x.go",
	} {
		if got := m.Apply(in); got != want {
			t.Errorf("Apply(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"nothing", "=x", "a\x00b=c"} {
		if _, err := ParsePathMap([]string{bad}); err == nil {
			t.Errorf("ParsePathMap(%q) accepted", bad)
		}
	}
}

func FuzzCoverageJSON(f *testing.F) {
	good, _ := json.Marshal(sample())
	f.Add(good)
	f.Add([]byte(`{"columns":[],"rows":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Coverage
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		// What was accepted writes and reads back.
		out, err := json.Marshal(c)
		if err != nil {
			return // a row whose package has no summary: refused on write
		}
		var back Coverage
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
	})
}

func FuzzParseLines(f *testing.F) {
	f.Add("3-5,9,12-13")
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := ParseLines(s)
		if err != nil {
			return
		}
		back, err := ParseLines(FormatLines(lines))
		if err != nil || !reflect.DeepEqual(back, lines) {
			t.Fatalf("%q: %v → %q → %v, %v", s, lines, FormatLines(lines), back, err)
		}
	})
}

func FuzzParsePathMap(f *testing.F) {
	f.Add("/app=src", "/app/main.py")
	f.Fuzz(func(t *testing.T, rule, p string) {
		m, err := ParsePathMap([]string{rule})
		if err != nil {
			return
		}
		_ = m.Apply(p)
	})
}
