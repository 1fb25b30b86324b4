package report

import _ "embed"

// ReportSchema is the JSON Schema of the report written by WriteJSON.
//
//go:embed schema/report.schema.json
var ReportSchema []byte
