package corpus

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/internal/secrets"
)

func TestSecretsNeverReachTheDisk(t *testing.T) {
	const token, apiKey, dbURL = "tok-SECRET-9f8e7d", "key/with+chars", "postgres://app:pw@db/app"
	set := &secrets.Set{}
	set.AddHeaderLine("Authorization: Bearer " + token)
	set.AddAuth("apikey=" + apiKey)
	set.AddEnv([]string{"DATABASE_URL=" + dbURL})
	basic := base64.StdEncoding.EncodeToString([]byte(apiKey))

	e := Entry{
		Steps: json.RawMessage(`[{"op":"GET /me","raw":{"method":"GET","path":"/me","header":{"Authorization":["Bearer ` + token + `"]},"body":"` +
			base64.StdEncoding.EncodeToString([]byte(`{"k":"`+apiKey+`"}`)) + `"}}]`),
		Requests: []Request{{Operation: "GET /me", Method: "GET", Path: "/me?api_key=key%2Fwith%2Bchars",
			Header: map[string][]string{"Authorization": {"Bearer " + token}, "X-Basic": {"Basic " + basic}}}},
		Responses: []Response{{Status: 200, Body: []byte(`{"db":"` + dbURL + `","token":"` + token + `"}`)}},
		Reasons:   []string{"new status 200"},
	}
	dir := t.TempDir()
	st := mustOpen(t, dir, testKey, WithSecrets(set))
	stored, added, err := st.Put(e)
	if err != nil || !added {
		t.Fatalf("put: %v %v", added, err)
	}
	if stored.Requests[0].Header["Authorization"][0] != "Bearer "+token {
		t.Fatalf("Put returned the entry redacted: %+v", stored.Requests[0])
	}
	if err := st.PutFinding(FindingRecord{ID: "f1", Operation: "GET /me", Check: "server_error", Signature: "500",
		Data: json.RawMessage(`{"curl":"curl -H 'Authorization: Bearer ` + token + `'"}`)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		for _, leak := range []string{token, apiKey, "key%2Fwith%2Bchars", basic, "pw@db"} {
			if bytes.Contains(data, []byte(leak)) {
				t.Errorf("%s holds %q", p, leak)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Read back with the secrets: exactly what was put.
	back, err := Load(dir, WithSecrets(set))
	if err != nil {
		t.Fatal(err)
	}
	got := back.Entries()[0]
	if !reflect.DeepEqual(got.Requests, e.Requests) || !reflect.DeepEqual(got.Responses, e.Responses) {
		t.Fatalf("restored entry differs:\n got %+v\nwant %+v", got.Requests, e.Requests)
	}
	if !strings.Contains(string(got.Steps), token) || !strings.Contains(string(got.Steps), base64.StdEncoding.EncodeToString([]byte(`{"k":"`+apiKey+`"}`))) {
		t.Fatalf("restored steps: %s", got.Steps)
	}
	if f := back.Findings()[0]; !strings.Contains(string(f.Data), token) {
		t.Fatalf("restored finding: %s", f.Data)
	}
	if m := back.MissingSecrets(); len(m) != 0 {
		t.Fatalf("missing %v with the secrets given", m)
	}
	// Without them: placeholders, and the store says which secrets it lacks.
	bare, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if h := bare.Entries()[0].Requests[0].Header["Authorization"][0]; h != "{{whittle:header.Authorization}}" {
		t.Fatalf("stored header %q", h)
	}
	if m := bare.MissingSecrets(); strings.Join(m, ",") != "auth.apikey,header.Authorization" {
		t.Fatalf("missing secrets %v", m)
	}
}
