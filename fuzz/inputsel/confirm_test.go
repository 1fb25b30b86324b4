package inputsel

import (
	"context"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/gen"
	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
)

// jvmshopImage is where the jvmshop fixture resolves names: its jar in
// /app (the name book offers "jvmshop" from it), its templates under
// /usr/share/jvmshop, beside hundreds of other packages' data.
func jvmshopImage() fakeimage.Lister {
	return fakeimage.Lister{
		"/app":                         {"jvmshop.jar", "plugins"},
		"/usr/share":                   {"ca-certificates", "doc", "java", "jvmshop", "locale", "man", "zoneinfo"},
		"/usr/share/jvmshop/templates": {"invoice.tmpl", "label.tmpl", "packing-slip.tmpl", "receipt.tmpl"},
	}
}

func render(template, customer string) []gen.SentValue {
	return []gen.SentValue{{Target: "path.template", Value: template}, {Target: "query.customer", Value: customer}}
}

func targetsOf(sels []Selection) map[string]string {
	out := map[string]string{}
	for _, s := range sels {
		out[s.Target] = s.Dir
	}
	return out
}

// The jvmshop run that kept all of /usr/share: a name from the book
// ("jvmshop", the jar's) was sent as customer= while template= made the
// target open a template it had not opened before. The template selects
// its directory; the customer, which reads no file, selects nothing.
func TestAValueNamingADirectoryOnTheWayOfAnotherValuesFile(t *testing.T) {
	const op = "GET /render/{template}"
	c := NewCorrelator(jvmshopImage())
	c.Observe("GET /health", "", nil, nil, []DirListing{{Path: "/app", Listed: true, Startup: true}})

	sels := c.Observe(op, "path.template", render("invoice", "alice"),
		[]string{"/usr/share/jvmshop/templates/invoice.tmpl"}, []DirListing{{Path: "/usr/share/jvmshop/templates"}})
	if got := targetsOf(sels); len(got) != 1 || got["path.template"] != "/usr/share/jvmshop/templates" {
		t.Fatalf("first template: selections %+v, want the template's directory", sels)
	}
	// /usr/share/jvmshop has been on the way to the templates since the
	// first one: a value spelling it did not choose it.
	sels = c.Observe(op, "path.template", render("receipt", "jvmshop"),
		[]string{"/usr/share/jvmshop/templates/receipt.tmpl"}, nil)
	if _, ok := targetsOf(sels)["query.customer"]; ok {
		t.Errorf("later template: customer credited with %+v", sels)
	}
	// The same with a name the templates directory does not hold: the
	// target looks it up and fails, a new path all the same.
	sels = c.Observe(op, "path.template", render("zzyzx", "jvmshop"),
		[]string{"/usr/share/jvmshop/templates/zzyzx.tmpl"}, nil)
	if _, ok := targetsOf(sels)["query.customer"]; ok {
		t.Errorf("failed lookup: customer credited with %+v", sels)
	}
	for _, d := range c.Dirs() {
		if d == "/usr/share" {
			t.Errorf("/usr/share kept whole: %v", c.Dirs())
		}
	}
}

// The very first request that reaches the templates carries both values:
// the template explains the new file at its own name, the customer only
// at a directory on the way. The customer is not credited from that
// request alone.
func TestTheFirstFileOfADirectoryIsCreditedToTheDeeperValue(t *testing.T) {
	const op = "GET /render/{template}"
	c := NewCorrelator(jvmshopImage())
	sels := c.Observe(op, "path.template", render("invoice", "jvmshop"),
		[]string{"/usr/share/jvmshop/templates/invoice.tmpl"}, []DirListing{{Path: "/usr/share/jvmshop/templates"}})
	if got := targetsOf(sels); len(got) != 1 || got["path.template"] != "/usr/share/jvmshop/templates" {
		t.Fatalf("selections %+v, want only the template's directory", sels)
	}
	if got := c.Dirs(); len(got) != 1 || got[0] != "/usr/share/jvmshop/templates" {
		t.Errorf("dirs kept whole: %v", got)
	}
	// It waits for another customer to select there; none will.
	if u := c.Unconfirmed(); len(u) != 1 || u[0].Target != "query.customer" || u[0].Dir != "/usr/share" || u[0].Value != "jvmshop" {
		t.Fatalf("unconfirmed %+v, want the customer at /usr/share", u)
	}
	if u := c.Unconfirmed(); len(u) != 0 {
		t.Errorf("unconfirmed returned twice: %+v", u)
	}
	sels = c.Observe(op, "query.customer", render("invoice", "doc"), nil, nil)
	if len(sels) != 0 {
		t.Errorf("a customer that touched nothing selected %+v", sels)
	}
}

// Both values of a page choose: the theme a directory on the way, the
// page its file. When the first request that reached the themes carried
// both, the theme waits; another theme with the same page confirms it.
func TestAValueOnTheWayIsConfirmedByAnotherValue(t *testing.T) {
	const op = "GET /page/{page}"
	c := NewCorrelator(fakeimage.Lister{"/srv/themes": {"dark", "light"}})
	page := func(theme, name string) []gen.SentValue {
		return []gen.SentValue{{Target: "query.theme", Value: theme}, {Target: "path.page", Value: name}}
	}
	sels := c.Observe(op, "path.page", page("dark", "index"), []string{"/srv/themes/dark/index.html"}, []DirListing{{Path: "/srv/themes/dark"}})
	if got := targetsOf(sels); len(got) != 1 || got["path.page"] != "/srv/themes/dark" {
		t.Fatalf("first page: selections %+v", sels)
	}
	u := c.Unconfirmed()
	if len(u) != 1 || u[0].Target != "query.theme" || u[0].Dir != "/srv/themes" {
		t.Fatalf("unconfirmed %+v, want the theme at /srv/themes", u)
	}
	if got := c.Candidates(context.Background(), u[0]); len(got) != 1 || got[0] != "light" {
		t.Errorf("names to confirm with: %v", got)
	}
	sels = c.Observe(op, "path.page", page("light", "index"), []string{"/srv/themes/light/index.html"}, []DirListing{{Path: "/srv/themes/light"}})
	if got := targetsOf(sels); got["query.theme"] != "/srv/themes" {
		t.Fatalf("another theme, same page: selections %+v, want the theme's directory", sels)
	}
	if !c.Names().Selected("/srv/themes") {
		t.Error("the confirmed directory is not marked selected in the name book")
	}
}

// A value alone at a directory on the way is the likely cause: it is
// credited at once (a locale's catalog below /usr/share/locale).
func TestALoneValueOnTheWaySelects(t *testing.T) {
	c := NewCorrelator(nil)
	sent := []gen.SentValue{{Target: "query.lang", Value: "fr_FR"}, {Target: "query.name", Value: "x"}}
	sels := c.Observe("GET /hello", "query.lang", sent, []string{"/usr/share/locale/fr_FR/LC_MESSAGES/app.mo"}, nil)
	if got := targetsOf(sels); len(got) != 1 || got["query.lang"] != "/usr/share/locale" {
		t.Fatalf("selections %+v", sels)
	}
	if u := c.Unconfirmed(); len(u) != 0 {
		t.Errorf("unconfirmed %+v", u)
	}
}

// A lone value that spells a component of a new path right below a
// directory as broad as /usr/share (keeping it whole keeps most of the
// image) is not credited on one observation.
func TestABroadDirectoryNeedsASecondValue(t *testing.T) {
	const op = "GET /render/{template}"
	c := NewCorrelator(jvmshopImage())
	// The server upper-cases nothing the correlator could see: the
	// template value is not in the path, the customer's is.
	sent := []gen.SentValue{{Target: "path.template", Value: "#1"}, {Target: "query.customer", Value: "jvmshop"}}
	sels := c.Observe(op, "path.template", sent, []string{"/usr/share/jvmshop/templates/invoice.tmpl"}, nil)
	if len(sels) != 0 {
		t.Fatalf("selections %+v from one value below /usr/share", sels)
	}
	if u := c.Unconfirmed(); len(u) != 1 || u[0].Dir != "/usr/share" {
		t.Fatalf("unconfirmed %+v", u)
	}
}

// A broad directory is kept whole once two values select in it: a user's
// home below /home.
func TestABroadDirectorySelectedByTwoValues(t *testing.T) {
	const op = "GET /profile"
	c := NewCorrelator(nil)
	user := func(v string) []gen.SentValue { return []gen.SentValue{{Target: "query.user", Value: v}} }
	if sels := c.Observe(op, "query.user", user("alice"), []string{"/home/alice/profile.json"}, nil); len(sels) != 0 {
		t.Fatalf("one user selected %+v", sels)
	}
	sels := c.Observe(op, "query.user", user("bob"), []string{"/home/bob/profile.json"}, nil)
	if got := targetsOf(sels); len(got) != 1 || got["query.user"] != "/home" {
		t.Fatalf("second user: selections %+v, want /home", sels)
	}
}
