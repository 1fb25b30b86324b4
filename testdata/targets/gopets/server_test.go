package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	cfg := config{
		TemplatesDir: "rootfs/usr/share/gopets/templates",
		BreedsDir:    "rootfs/usr/share/gopets/breeds",
		MaxPets:      100,
	}
	ts := httptest.NewServer(newServer(cfg, log.New(io.Discard, "", 0)).routes())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAnswers pins ordinary answers and the planted bugs (a) and (b); bug (c) kills the
// process, see BUGS.md.
func TestAnswers(t *testing.T) {
	ts := newTestServer(t)
	steps := []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/health", "", 200, `"status":"ok"`},
		{"POST", "/pets", `{"name":"Rex","species":"dog","age":3,"tags":["Friendly"]}`, 201, `"id":1,`},
		{"POST", "/pets", `{"name":"Tom","species":"cat","age":14}`, 201, `"tags":[]`},
		{"POST", "/pets", `{"name":"Ghost","species":"dog","age":2,"tags":[" "]}`, 201, `"tags":null`}, // bug (b)
		{"POST", "/pets", `{"name":"X","species":"horse","age":1}`, 400, "species"},
		{"GET", "/pets?limit=99", "", 200, `"total":3`},
		{"GET", "/pets?limit=100", "", 500, "internal server error"}, // bug (a)
		{"GET", "/pets?limit=101", "", 400, "limit"},
		{"GET", "/pets?tag=friendly", "", 200, `"total":1`},
		{"GET", "/pets/1/card?lang=de", "", 200, "etwa 49 Menschenjahre"},
		{"GET", "/pets/1/card?lang=xx", "", 404, "template"},
		{"GET", "/pets/1/card?lang=EN", "", 400, "lang"},
		{"GET", "/breeds/border-collie", "", 200, `"origin":"United Kingdom"`},
		{"GET", "/breeds/unicorn", "", 404, "unknown breed"},
		{"POST", "/pets/2/adopt", `{"mode":"foster","adopter":{"name":"A","email":"a@example.org","homeType":"house"}}`, 422, "12 years"},
		{"POST", "/pets/2/adopt", `{"mode":"express","adopter":{"name":"A","email":"a@example.org","homeType":"house"}}`, 200, `"fee":72`},
		{"POST", "/pets/2/adopt", `{"mode":"standard","adopter":{"name":"A","email":"a@example.org","homeType":"house"}}`, 409, "already"},
		{"POST", "/pets/1/adopt", `{"mode":"standard","adopter":{"name":"B","email":"b@example.org","homeType":"apartment"}}`, 200, `"landlordApproval"`},
		{"PUT", "/pets/1", `{"name":"Rex","species":"dog","age":4}`, 200, `"status":"adopted"`},
		{"DELETE", "/pets/1", "", 204, ""},
		{"GET", "/pets/1", "", 404, "not found"},
	}
	for _, s := range steps {
		code, body := do(t, ts, s.method, s.path, s.body)
		if code != s.code || !strings.Contains(body, s.contains) {
			t.Errorf("%s %s: got %d %s, want %d containing %q", s.method, s.path, code, body, s.code, s.contains)
		}
	}
}

func TestHumanYears(t *testing.T) {
	for _, c := range []struct {
		species string
		age     int
		want    float64
	}{{"dog", 1, 31}, {"dog", 3, 49}, {"cat", 2, 24}, {"bird", 2, 10}, {"fish", 0, 0}} {
		if got := humanYears(c.species, c.age); got != c.want {
			t.Errorf("humanYears(%s, %d) = %v, want %v", c.species, c.age, got, c.want)
		}
	}
}
