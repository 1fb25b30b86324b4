package corpus

import (
	"reflect"
	"testing"
)

func jsonResp(status int, body string) Response {
	return Response{Status: status, Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestLearnVolatileFindsChangedJSONFields(t *testing.T) {
	a := jsonResp(201, `{"id":1,"name":"rex","createdAt":"2026-01-01T00:00:00Z","meta":{"req":"a1","n":2}}`)
	b := jsonResp(201, `{"id":1,"name":"rex","createdAt":"2026-01-01T00:00:05Z","meta":{"req":"b7","n":2}}`)
	got := LearnVolatile(a, b)
	want := Volatile{Paths: []string{"/createdAt", "/meta/req"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LearnVolatile = %#v, want %#v", got, want)
	}
}

func TestLearnVolatileNonJSONBody(t *testing.T) {
	got := LearnVolatile(Response{Status: 200, Body: []byte("at 12:00")}, Response{Status: 200, Body: []byte("at 12:01")})
	if !got.Body || got.Status {
		t.Fatalf("LearnVolatile = %#v, want Body only", got)
	}
}

func TestEquivalent(t *testing.T) {
	vol := Volatile{Paths: []string{"/createdAt"}}
	want := jsonResp(200, `{"id":1,"createdAt":"x","tags":["a"]}`)
	cases := []struct {
		name string
		got  Response
		ok   bool
	}{
		{"same", jsonResp(200, `{"id":1,"createdAt":"x","tags":["a"]}`), true},
		{"volatile field differs", jsonResp(200, `{"createdAt":"y","id":1,"tags":["a"]}`), true},
		{"stable field differs", jsonResp(200, `{"id":2,"createdAt":"x","tags":["a"]}`), false},
		{"array differs", jsonResp(200, `{"id":1,"createdAt":"x","tags":["a","b"]}`), false},
		{"missing field", jsonResp(200, `{"id":1,"createdAt":"x"}`), false},
		{"status differs", jsonResp(500, `{"id":1,"createdAt":"x","tags":["a"]}`), false},
		{"content type differs", Response{Status: 200, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: want.Body}, false},
		{"transport error", Response{Err: "connection reset"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, why := Equivalent(want, c.got, vol)
			if ok != c.ok {
				t.Fatalf("Equivalent = %v (%s), want %v", ok, why, c.ok)
			}
			if !ok && why == "" {
				t.Fatal("a divergence must say why")
			}
		})
	}
}

func TestEquivalentBothFailed(t *testing.T) {
	if ok, why := Equivalent(Response{Err: "timeout"}, Response{Err: "timeout"}, Volatile{}); !ok {
		t.Fatalf("two failures should be equivalent: %s", why)
	}
}

func TestVolatileMerge(t *testing.T) {
	v := Volatile{Paths: []string{"/b", "/a"}}
	v.Merge(Volatile{Paths: []string{"/c", "/a"}, Body: true})
	if !v.Body || !reflect.DeepEqual(v.Paths, []string{"/a", "/b", "/c"}) {
		t.Fatalf("Merge = %#v", v)
	}
}
