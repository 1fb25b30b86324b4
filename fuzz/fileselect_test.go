package fuzz

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/fuzz/internal/fakeimage"
	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

const pluginSpec = `openapi: 3.0.3
info: {title: plugins, version: "1"}
paths:
  /load:
    get:
      parameters:
        - {name: name, in: query, required: true, schema: {type: string, minLength: 3, maxLength: 12}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {loaded: {type: boolean}}}
`

// fakeTracer plays the tracer: a lookup of plugins/NAME.py for each new
// name, and new functions when an existing plugin loads.
type fakeTracer struct {
	mu       sync.Mutex
	last     string
	seen     map[string]bool
	existing map[string]bool
}

func (f *fakeTracer) After(context.Context) (Signal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == "" || f.seen[f.last] {
		return Signal{}, nil
	}
	f.seen[f.last] = true
	sig := Signal{Files: 1, NewFiles: []string{"/app/plugins/" + f.last + ".py"}}
	if f.existing[f.last] {
		sig.Functions = 5
	}
	return sig, nil
}

func TestInputSelectedFilesAreTried(t *testing.T) {
	s := testspecs.Load(t, "plugins.yaml", pluginSpec)
	tr := &fakeTracer{seen: map[string]bool{}, existing: map[string]bool{"alpha": true, "beta": true}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		tr.mu.Lock()
		tr.last = name
		loaded := tr.existing[name]
		tr.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"loaded": loaded})
	}))
	defer srv.Close()
	events := make(chan Event, 1024)
	f := New(s, newHTTPSender(srv.URL, 5*time.Second), WithSeed(1), WithMaxRequests(200), WithFeedback(tr),
		WithDirLister(fakeimage.Lister{"/app/plugins": {"alpha.py", "beta.py", "README"}}), WithEvents(events))
	res, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.SelectedDirs, []string{"/app/plugins"}) {
		t.Errorf("selected dirs %v", res.SelectedDirs)
	}
	tr.mu.Lock()
	triedAlpha, triedBeta := tr.seen["alpha"], tr.seen["beta"]
	tr.mu.Unlock()
	if !triedAlpha || !triedBeta {
		t.Errorf("existing plugins not tried: alpha=%v beta=%v", triedAlpha, triedBeta)
	}
	if res.Stats.Functions < 10 {
		t.Errorf("functions %d", res.Stats.Functions)
	}
	close(events)
	kinds := map[EventKind]int{}
	for e := range events {
		kinds[e.Kind]++
	}
	if kinds[EventSelection] == 0 || kinds[EventCoverage] == 0 || kinds[EventDone] != 1 {
		t.Errorf("events %v", kinds)
	}
}
