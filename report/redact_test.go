package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/whittle-dev/whittle/internal/secrets"
)

func TestRedactedReport(t *testing.T) {
	r := sampleReport()
	r.Fuzz.Findings[0].Curl = "curl -sS 'http://127.0.0.1:1/pets' -H 'Authorization: Bearer tok-9876543210'"
	r.Verification.Divergences[0].Original = `201 {"owner_token": "tok-9876543210"}`
	set := &secrets.Set{}
	set.AddHeaderLine("Authorization: Bearer tok-9876543210")
	red := Redacted(r, set)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, red); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "tok-9876543210") {
		t.Fatalf("the secret is in the written report:\n%s", buf.String())
	}
	if !strings.Contains(red.Fuzz.Findings[0].Curl, "{{whittle:header.Authorization}}") || red.Original.Size != r.Original.Size || red.Minimal.Files != 2 {
		t.Fatalf("redacted report %+v", red.Fuzz.Findings[0])
	}
	if !strings.Contains(r.Fuzz.Findings[0].Curl, "tok-9876543210") {
		t.Fatal("Redacted changed the report it was given")
	}
	if err := validate(t, compileSchema(t, "schema/report.schema.json"), buf.Bytes()); err != nil {
		t.Fatalf("the redacted report does not match the schema: %v", err)
	}
}
