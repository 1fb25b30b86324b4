package fuzz

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/whittle-dev/whittle/fuzz/internal/testspecs"
)

// petsAPI implements testdata/pets.yaml with two planted bugs: GET /pets
// answers 500 for limit=100 (a boundary value), and GET /stats answers a
// count that is a string where the spec says integer.
type petsAPI struct {
	mu   sync.Mutex
	next int64
	pets map[int64]map[string]any
	// seen counts requests by "METHOD path" (path without query).
	seen map[string]int
	// die, when set, plants two crashes (see crashtarget_test.go): reading a
	// deleted pet kills the server without an answer, deleting a pet that
	// has a photo kills it right after answering.
	die     func(reason string, w http.ResponseWriter, answered bool)
	deleted map[int64]bool
	photos  map[int64]bool
}

const petsKey = testspecs.PetsKey

func newPetsServer(t testing.TB) (*httptest.Server, *petsAPI) {
	api := newPetsAPI()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, api
}

func newPetsAPI() *petsAPI {
	return &petsAPI{pets: map[int64]map[string]any{}, seen: map[string]int{}, deleted: map[int64]bool{}, photos: map[int64]bool{}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg})
}

var birthday = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`)

var ownerCode = regexp.MustCompile(`^[A-Z]{2}-[0-9]{3}$`)

func (a *petsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen[r.Method+" "+r.URL.Path]++
	p := strings.TrimPrefix(r.URL.Path, "/v1")
	if p == r.URL.Path {
		fail(w, 404, "no such path")
		return
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/pets" && r.Method == "GET":
		limit := 20
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				fail(w, 400, "bad limit")
				return
			}
			limit = n
		}
		if limit == 100 {
			fail(w, 500, "index out of range [100] with length 100") // planted boundary bug
			return
		}
		out := []any{}
		for id := int64(1); id <= a.next && len(out) < limit; id++ {
			if pet, ok := a.pets[id]; ok {
				out = append(out, pet)
			}
		}
		writeJSON(w, 200, out)
	case p == "/pets" && r.Method == "POST":
		if r.Header.Get("X-API-Key") != petsKey {
			w.WriteHeader(401)
			return
		}
		pet, ok := decodePet(w, r)
		if !ok {
			return
		}
		a.next++
		pet["id"] = a.next
		a.pets[a.next] = pet
		w.Header().Set("Location", fmt.Sprintf("/v1/pets/%d", a.next))
		writeJSON(w, 201, pet)
	case len(segs) >= 2 && segs[0] == "pets":
		id, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil || id < 1 {
			fail(w, 400, "bad id")
			return
		}
		pet, exists := a.pets[id]
		if a.die != nil && a.deleted[id] && r.Method == "GET" && len(segs) == 2 {
			a.die("exited with status 70", w, false) // planted crash: use after delete
			return
		}
		if len(segs) == 3 && segs[2] == "photo" && r.Method == "POST" {
			if !exists {
				fail(w, 404, "no pet")
				return
			}
			f, _, err := r.FormFile("file")
			if err != nil {
				fail(w, 400, "file required")
				return
			}
			data, _ := io.ReadAll(f)
			a.photos[id] = true
			writeJSON(w, 201, map[string]any{"size": len(data), "caption": r.FormValue("caption")})
			return
		}
		if len(segs) != 2 {
			fail(w, 404, "no such path")
			return
		}
		switch r.Method {
		case "GET":
			if !exists {
				fail(w, 404, "no pet")
				return
			}
			writeJSON(w, 200, pet)
		case "PUT", "DELETE":
			if r.Header.Get("X-API-Key") != petsKey {
				w.WriteHeader(401)
				return
			}
			if !exists {
				fail(w, 404, "no pet")
				return
			}
			if r.Method == "DELETE" {
				delete(a.pets, id)
				a.deleted[id] = true
				w.WriteHeader(204)
				if a.die != nil && a.photos[id] {
					a.die("exited with status 2", w, true) // planted crash after the answer
				}
				return
			}
			np, ok := decodePet(w, r)
			if !ok {
				return
			}
			np["id"] = id
			a.pets[id] = np
			writeJSON(w, 200, np)
		default:
			fail(w, 405, "method")
		}
	case p == "/owners/search" && r.Method == "GET":
		if !ownerCode.MatchString(r.URL.Query().Get("code")) || r.Header.Get("X-Request-Id") == "" {
			fail(w, 400, "bad search")
			return
		}
		writeJSON(w, 200, map[string]any{"results": []string{"ann", "bob"}})
	case p == "/login" && r.Method == "POST":
		if err := r.ParseForm(); err != nil || r.PostForm.Get("username") == "" || len(r.PostForm.Get("password")) < 8 {
			fail(w, 400, "bad login")
			return
		}
		writeJSON(w, 200, map[string]any{"token": "t-" + r.PostForm.Get("username")})
	case p == "/stats" && r.Method == "GET":
		writeJSON(w, 200, map[string]any{"count": strconv.Itoa(len(a.pets))}) // planted schema violation
	default:
		fail(w, 404, "no such path")
	}
}

func decodePet(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var pet map[string]any
	if err := json.NewDecoder(r.Body).Decode(&pet); err != nil || pet == nil {
		fail(w, 400, "bad json")
		return nil, false
	}
	name, ok := pet["name"].(string)
	if !ok || name == "" || len([]rune(name)) > 50 {
		fail(w, 400, "bad name")
		return nil, false
	}
	if tag, ok := pet["tag"]; ok {
		if s, _ := tag.(string); s != "dog" && s != "cat" && s != "bird" {
			fail(w, 400, "bad tag")
			return nil, false
		}
	}
	if age, ok := pet["age"]; ok {
		f, isNum := age.(float64)
		if !isNum || f != float64(int(f)) || f < 0 || f > 30 {
			fail(w, 400, "bad age")
			return nil, false
		}
	}
	if b, ok := pet["birthday"]; ok {
		if s, _ := b.(string); !birthday.MatchString(s) {
			fail(w, 400, "bad birthday")
			return nil, false
		}
	}
	out := map[string]any{"name": name}
	for _, k := range []string{"tag", "age", "birthday"} {
		if v, ok := pet[k]; ok {
			out[k] = v
		}
	}
	return out, true
}

// recorder is a minimal http.ResponseWriter for in-process calls.
type recorder struct {
	status int
	header http.Header
	body   []byte
}

func newRecorder() *recorder { return &recorder{status: 200, header: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }
