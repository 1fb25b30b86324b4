package node

import (
	"bufio"
	"slices"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/tracer/cover"
)

// Takes in V8's binary block mode report what ran since the previous one:
// a function is hit when its range counts; a block when the innermost
// range holding it counts, whether it is listed itself or inherits its
// function's count (V8 lists only ranges whose count differs from the
// range around them).
func TestApplyTakes(t *testing.T) {
	src := "function f(x) {\n  if (x) {\n    return 1;\n  }\n  return 2;\n}\n"
	s := &script{path: "/srv/a.js", lines: newLineIndex([]byte(src)), funcs: map[block]string{}, blocks: map[block][]block{}}
	units := func(fs []cover.Function) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Unit())
		}
		return out
	}
	// f(0): the function ran, its if-block did not.
	got := s.apply(functionCoverage{FunctionName: "f", Ranges: []coverageRange{{0, 58, 1}, {25, 44, 0}}})
	if !slices.Equal(units(got), []string{"/srv/a.js:f@0-58"}) {
		t.Errorf("f(0): %v", units(got))
	}
	// f(1): both ran; V8 no longer lists the block (same count as f).
	got = s.apply(functionCoverage{FunctionName: "f", Ranges: []coverageRange{{0, 58, 1}}})
	if !slices.Equal(units(got), []string{"/srv/a.js:f@0-58", "/srv/a.js:f@25-44"}) {
		t.Errorf("f(1): %v", units(got))
	}
	if b := got[1]; b.Level != cover.LevelBlock || b.Line != 2 || b.EndLine != 4 || b.File != "/srv/a.js" {
		t.Errorf("block unit %+v: want lines 2-4", b)
	}
	// Nothing ran: the function is listed with count 0.
	if got := s.apply(functionCoverage{FunctionName: "f", Ranges: []coverageRange{{0, 58, 0}}}); len(got) != 0 {
		t.Errorf("nothing ran: %v", units(got))
	}
	// Malformed ranges are ignored.
	if got := s.apply(functionCoverage{FunctionName: "g", Ranges: []coverageRange{{10, 5, 1}}}); len(got) != 0 {
		t.Errorf("inverted range: %v", units(got))
	}
	if fs := s.functions(); len(fs) != 1 || fs[0].Name != "f" || fs[0].Line != 1 || fs[0].EndLine != 6 {
		t.Errorf("functions %+v", fs)
	}
}

func TestLineIndexUTF16(t *testing.T) {
	// "é" is one UTF-16 unit, "𝄞" two; V8's offsets count units.
	idx := newLineIndex([]byte("é\n𝄞\nx"))
	for off, want := range map[int]int{0: 1, 1: 1, 2: 2, 4: 2, 5: 3} {
		if got := idx.line(off); got != want {
			t.Errorf("line(%d) = %d, want %d", off, got, want)
		}
	}
}

func TestScopeRules(t *testing.T) {
	r := &scopeRules{roots: []string{"/usr/share/nodejs/myapp"}}
	for p, want := range map[string]bool{
		"/usr/share/nodejs/myapp/server.js":                 true,
		"/usr/share/nodejs/myapp/node_modules/dep/index.js": false,
		"/usr/share/nodejs/express/index.js":                false,
		"/srv/other/app.js":                                 true,
		"/srv/other/node_modules/x/y.js":                    false,
		"/usr/lib/node_modules/npm/lib/npm.js":              false,
	} {
		if got := r.inScope(p); got != want {
			t.Errorf("inScope(%s) = %v", p, got)
		}
	}
	g := &scopeRules{globs: []string{"/srv/app/lib/*"}}
	if !g.inScope("/srv/app/lib/a.js") || g.inScope("/srv/app/server.js") {
		t.Error("globs")
	}
	for args, want := range map[string]string{
		"node\x00server.js": "server.js",
		"/usr/bin/node\x00--inspect-port=9230\x00/app/a.js\x00x":            "/app/a.js",
		"node\x00-r\x00dotenv/config\x00--max-old-space-size=100\x00app.js": "app.js",
		"node\x00-e\x00console.log(1)":                                      "",
		"node":                                                              "",
	} {
		if got := mainScript(strings.Split(args, "\x00")); got != want {
			t.Errorf("mainScript(%q) = %q, want %q", args, got, want)
		}
	}
}

func TestEnvKeepsImageOptions(t *testing.T) {
	env := New().Env([]string{"PATH=/bin", "NODE_OPTIONS=--max-old-space-size=256"})
	if !slices.Equal(env, []string{"NODE_OPTIONS=--max-old-space-size=256 --inspect=127.0.0.1:0"}) {
		t.Errorf("Env = %v", env)
	}
	if env := New().Env(nil); !slices.Equal(env, []string{"NODE_OPTIONS=--inspect=127.0.0.1:0"}) {
		t.Errorf("Env(nil) = %v", env)
	}
}

func TestInspectorTargets(t *testing.T) {
	list := `[{"type":"node","webSocketDebuggerUrl":"ws://10.0.0.1:9229/x"},{"type":"node","webSocketDebuggerUrl":"ws://127.0.0.1:9229/abc"}]`
	if u, err := debuggerURL([]byte(list), 9229); err != nil || u != "ws://127.0.0.1:9229/abc" {
		t.Errorf("debuggerURL = %q, %v", u, err)
	}
	if _, err := debuggerURL([]byte(list), 9230); err == nil {
		t.Error("a URL on another port was taken")
	}
	table := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 0100007F:8CA5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0\n" +
		"   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4343 1 0 100 0 0 10 0\n" +
		"   2: 0100007F:8CA6 0100007F:1234 01 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0\n"
	got, err := parseTCPTable(bufio.NewScanner(strings.NewReader(table)))
	if err != nil || len(got) != 1 || got[4242] != 0x8CA5 {
		t.Errorf("parseTCPTable = %v, %v", got, err)
	}
}

func FuzzParseAndApply(f *testing.F) {
	f.Add([]byte(`{"result":[{"scriptId":"1","url":"file:///srv/a.js","functions":[{"functionName":"f","ranges":[{"startOffset":0,"endOffset":9,"count":1},{"startOffset":2,"endOffset":4,"count":0}]}]}]}`))
	f.Add([]byte(`{"result":[{"url":"node:fs","functions":[]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		scripts, err := parseCoverage(raw)
		if err != nil {
			return
		}
		s := &script{path: "/x.js", lines: newLineIndex(raw), funcs: map[block]string{}, blocks: map[block][]block{}}
		for _, sc := range scripts {
			scriptPath(sc.URL)
			for _, fc := range sc.Functions {
				for _, u := range s.apply(fc) {
					if u.End <= u.Start || u.Line < 1 && u.Start >= 0 {
						t.Fatalf("unit %+v", u)
					}
				}
			}
		}
		s.functions()
	})
}

func FuzzTCPTable(f *testing.F) {
	f.Add("hdr\n   0: 0100007F:8CA5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n")
	f.Fuzz(func(t *testing.T, table string) {
		got, err := parseTCPTable(bufio.NewScanner(strings.NewReader(table)))
		if err == nil {
			for inode, port := range got {
				if inode == 0 || port < 0 || port > 65535 {
					t.Fatalf("%d → %d", inode, port)
				}
			}
		}
	})
}

func FuzzDebuggerURL(f *testing.F) {
	f.Add([]byte(`[{"webSocketDebuggerUrl":"ws://127.0.0.1:9229/a"}]`), 9229)
	f.Fuzz(func(t *testing.T, list []byte, port int) {
		u, err := debuggerURL(list, port)
		if err == nil && !strings.HasPrefix(u, "ws://127.0.0.1:") {
			t.Fatalf("took %q", u)
		}
	})
}
