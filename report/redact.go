package report

import (
	"encoding/json"

	"github.com/whittle-dev/whittle/internal/secrets"
)

// Redacted is r with every secret of set replaced by its placeholder,
// wherever it appears (findings and their curl reproducers, divergences,
// errors, paths): what is written or printed. r itself is not changed.
func Redacted(r *Report, set *secrets.Set) *Report {
	if r == nil || set.Empty() {
		return r
	}
	data, err := json.Marshal(r)
	if err != nil {
		return r
	}
	var out Report
	if err := json.Unmarshal(set.RedactJSON(data), &out); err != nil {
		// A redaction that breaks the report's own types cannot happen with
		// string-only replacement; never write the clear one.
		return &Report{Schema: r.Schema, Tool: r.Tool, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: "report could not be redacted: " + err.Error()}
	}
	return &out
}
