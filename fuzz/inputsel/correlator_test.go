package inputsel

import (
	"context"
	"reflect"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
	"github.com/whittle-dev/whittle/fuzz/param"
)

func TestCorrelate(t *testing.T) {
	tests := []struct {
		value, path   string
		ok            bool
		dir, pre, suf string
	}{
		{"mod", "/usr/lib/app/plugins/mod.py", true, "/usr/lib/app/plugins", "", ".py"},
		{"mod", "/usr/lib/app/plugins/mod/__init__.py", true, "/usr/lib/app/plugins", "", ""},
		{"report", "/srv/templates/report.html.j2", true, "/srv/templates", "", ".html.j2"},
		{"fr_FR", "/usr/share/locale/fr_FR/LC_MESSAGES/app.mo", true, "/usr/share/locale", "", ""},
		{"abc", "/usr/lib/xabcx.so", false, "", "", ""},
		{"theme-dark", "/srv/static/css/theme-dark-min.css", true, "/srv/static/css", "", "-min.css"},
		{"a/b", "/data/a/b.json", true, "/data", "", ".json"},
		{"zzz", "/etc/passwd", false, "", "", ""},
	}
	for _, tt := range tests {
		sel, ok := correlate(tt.value, tt.path)
		if ok != tt.ok || (ok && (sel.Dir != tt.dir || sel.Prefix != tt.pre || sel.Suffix != tt.suf)) {
			t.Errorf("correlate(%q, %q) = %+v, %v", tt.value, tt.path, sel, ok)
		}
	}
}

func TestFileCorrelatorCandidates(t *testing.T) {
	c := NewCorrelator(fakeimage.Lister{"/app/plugins": {"alpha.py", "beta.py", "gamma.txt", ".hidden.py"}})
	sent := []gen.SentValue{{Target: "query.name", Value: "nosuch"}, {Target: "query.x", Value: "1"}}
	sels := c.Observe("GET /load", "query.name", sent, []string{"/app/plugins/nosuch.py"}, nil)
	if len(sels) != 1 || sels[0].Dir != "/app/plugins" || sels[0].Target != "query.name" {
		t.Fatalf("selections %+v", sels)
	}
	if again := c.Observe("GET /load", "query.name", sent, []string{"/app/plugins/nosuch.py"}, nil); len(again) != 0 {
		t.Errorf("selection reported twice: %+v", again)
	}
	if got := c.Candidates(context.Background(), sels[0]); !reflect.DeepEqual(got, []string{"alpha", "beta"}) {
		t.Errorf("candidates %v", got)
	}
	if !reflect.DeepEqual(c.Dirs(), []string{"/app/plugins"}) || len(c.Effects()) != 2 {
		t.Errorf("dirs %v effects %+v", c.Dirs(), c.Effects())
	}
}

// countingLister counts the listings of each directory.
type countingLister struct {
	fakeimage.Lister
	calls map[string]int
}

func (l *countingLister) ListDir(ctx context.Context, dir string) ([]string, error) {
	l.calls[dir]++
	return l.Lister.ListDir(ctx, dir)
}

// A directory is read from the image once, whether for the name book or
// for a selection's candidates.
func TestDirectoriesAreListedOnce(t *testing.T) {
	l := &countingLister{Lister: fakeimage.Lister{"/app/plugins": {"alpha.py", "beta.py"}, "/srv/themes": {"dark", "light"}}, calls: map[string]int{}}
	c := NewCorrelator(l)
	c.Observe("GET /x", "", nil, nil, []DirListing{{Path: "/app/plugins", Listed: true}})
	c.names.Load(context.Background())
	sels := c.Observe("GET /load", "query.name", []gen.SentValue{{Target: "query.name", Value: "nosuch"}}, []string{"/app/plugins/nosuch.py"}, nil)
	if len(sels) != 1 {
		t.Fatalf("selections %+v", sels)
	}
	for range 2 {
		if got := c.Candidates(context.Background(), sels[0]); !reflect.DeepEqual(got, []string{"alpha", "beta"}) {
			t.Errorf("candidates %v", got)
		}
		if got := c.Candidates(context.Background(), Selection{Dir: "/srv/themes", Value: "x"}); !reflect.DeepEqual(got, []string{"dark", "light"}) {
			t.Errorf("candidates %v", got)
		}
	}
	if !reflect.DeepEqual(l.calls, map[string]int{"/app/plugins": 1, "/srv/themes": 1}) {
		t.Errorf("listings %v, want each directory once", l.calls)
	}
}

func TestEnumValuesDoNotSelectDirectories(t *testing.T) {
	s := testspecs.Load(t, "enums.yaml", testspecs.Enums)
	op := s.Operation("GET /export")
	c := NewCorrelator(nil)
	c.Selectable = func(_, target string) bool { return param.FreeValued(op, target) }
	sent := []gen.SentValue{{Target: "query.format", Value: "csv"}}
	// format=csv made the app import the standard library's csv module: an
	// effect of the value, but no reason to keep /usr/lib/python3.11 whole.
	sels := c.Observe(op.ID, "query.format", sent, []string{"/usr/lib/python3.11/csv.py"}, nil)
	if len(sels) != 0 {
		t.Fatalf("enum value selected %+v", sels)
	}
	if effects := c.Effects(); len(effects) != 1 || effects[0].Value != "csv" {
		t.Fatalf("the value's effect should still be recorded: %+v", effects)
	}
	sent = []gen.SentValue{{Target: "query.name", Value: "report"}}
	if sels := c.Observe(op.ID, "query.name", sent, []string{"/srv/reports/report.tmpl"}, nil); len(sels) != 1 || sels[0].Dir != "/srv/reports" {
		t.Fatalf("free value did not select its directory: %+v", sels)
	}
}

func TestCorrelateToken(t *testing.T) {
	tests := []struct {
		tok           string
		part          gen.NamePart
		path          string
		ok            bool
		dir, pre, suf string
	}{
		{"html", gen.PartExtension, "/srv/templates/item.html", true, "/srv/templates", "item.", ""},
		{"html", gen.PartExtension, "/srv/templates/item.html.j2", true, "/srv/templates", "item.", ".j2"},
		{"gz", gen.PartExtension, "/srv/static/app.js.gz", true, "/srv/static", "app.js.", ""},
		{"json", gen.PartExtension, "/usr/lib/python3.11/json/__init__.py", false, "", "", ""}, // a package, not an extension
		{"csv", gen.PartExtension, "/usr/lib/python3.11/csv.py", false, "", "", ""},            // a stem, not an extension
		{"gz", gen.PartExtension, "/srv/static/.gz", false, "", "", ""},
		{"html", gen.PartExtension, "/srv/html/index.php", false, "", "", ""},
		{"fr_CH", gen.PartTag, "/srv/locales/fr_CH.json", true, "/srv/locales", "", ".json"},
		{"fr", gen.PartTag, "/srv/locales/messages.fr.json", true, "/srv/locales", "messages.", ".json"},
		{"fr", gen.PartTag, "/srv/i18n/messages_fr.properties", true, "/srv/i18n", "messages_", ".properties"},
		{"fr", gen.PartTag, "/usr/share/locale/fr/LC_MESSAGES/app.mo", true, "/usr/share/locale", "", ""},
		{"de", gen.PartTag, "/srv/locales/de-CH.json", false, "", "", ""}, // another, longer tag
		{"de", gen.PartTag, "/srv/code/decode.py", false, "", "", ""},
		{"id", gen.PartTag, "/srv/models/valid.json", false, "", "", ""},
	}
	for _, tt := range tests {
		sel, ok := correlateToken(tt.tok, tt.part, tt.path)
		if ok != tt.ok || ok && (sel.Dir != tt.dir || sel.Prefix != tt.pre || sel.Suffix != tt.suf || sel.Value != tt.tok) {
			t.Errorf("correlateToken(%q, %s, %q) = %+v, %v", tt.tok, tt.part, tt.path, sel, ok)
		}
	}
}
