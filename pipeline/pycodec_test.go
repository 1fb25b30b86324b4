package pipeline

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// A free-form value that names a module of the interpreter's own library:
// pycodec's codec parameter (codecs.lookup imports encodings/NAME.py from a
// listing Python cached at start-up). The spec documents only utf-8, which
// start-up loaded already, so no request of it opens a file. The run must
// find the registry from that accepted value, keep encodings/ whole, and
// try a sample of its names, not all of them; the minimal image then
// answers a codec the corpus never names as the original does.
func TestPycodecEndToEnd(t *testing.T) {
	const img = "whittle-fixture/pycodec:latest"
	const tag = "whittle-test/pycodec-e2e:latest"
	const encodings = "/usr/lib/python3.11/encodings"
	requireFixture(t, img)
	t.Cleanup(func() { removeImage(tag) })
	corpusDir := t.TempDir()
	rep := runPipeline(t, Config{Image: img, Seed: 1, Duration: 20 * time.Second, Tag: tag, CorpusDir: corpusDir})
	assertVerified(t, rep, 5)
	selected := false
	for _, s := range rep.Fuzz.SelectedDirs {
		selected = selected || (s.Dir == encodings && s.Parameter == "query.codec")
	}
	if !selected {
		t.Fatalf("%s not selected by query.codec: selected %+v", encodings, rep.Fuzz.SelectedDirs)
	}
	// The measure of flooding: a sample of the registry was tried from the
	// accepted value, and the corpus names few of its codecs.
	if rep.Fuzz.ValueNames == 0 || rep.Fuzz.ValueNames > 16 {
		t.Errorf("%d names tried from accepted values, want 1..16", rep.Fuzz.ValueNames)
	}
	all := imageModules(t, img, encodings)
	var textual []string
	for _, c := range all {
		if strings.HasPrefix(c, "cp") || strings.HasPrefix(c, "iso8859") || strings.HasPrefix(c, "mac_") || strings.HasPrefix(c, "koi8") {
			textual = append(textual, c)
		}
	}
	kept := keptPaths(rep)
	unsent := codecNotIn(t, corpusDir, textual, func(c string) bool {
		traced := func(r string) bool { return strings.HasPrefix(r, "traced:") }
		return !slices.ContainsFunc(kept[encodings+"/"+c+".py"].Reasons, traced)
	})
	if _, ok := kept[encodings+"/"+unsent+".py"]; !ok {
		t.Fatalf("%s.py, a codec the corpus never names, missing from the minimal image", unsent)
	}
	asked := []string{"/encode?text=hi&codec=" + unsent, "/encode?text=hi&codec=" + strings.ToUpper(unsent)}
	orig, min := answersFrom(t, img, asked), answersFrom(t, tag, asked)
	for i, p := range asked {
		if orig[i].status != http.StatusOK || orig[i] != min[i] {
			t.Errorf("GET %s: original %d %q, minimal %d %q", p, orig[i].status, orig[i].body, min[i].status, min[i].body)
		}
	}
	t.Logf("codec %q never named by the corpus answered alike; %d names tried from accepted values, %d modules in %s",
		unsent, rep.Fuzz.ValueNames, len(all), encodings)
}
