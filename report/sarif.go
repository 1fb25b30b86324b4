package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// SARIF 2.1.0 (OASIS) for the fuzzer's findings: one rule per check, one
// result per finding, located at the spec file and the operation.

const sarifSchemaURI = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// checkDescriptions explains each oracle for SARIF viewers.
var checkDescriptions = map[string]string{
	"server-error":        "The service answered with a 5xx status.",
	"undocumented-status": "The status code is not documented for the operation.",
	"response-schema":     "The answer does not match the documented schema.",
	"content-type":        "The answer's content type is not documented.",
	"timeout":             "The service did not answer in time.",
	"transport-error":     "The connection failed before an answer came.",
	"accepted-invalid":    "The service accepted a request that violates the spec.",
	"crash":               "The service's container exited.",
}

// sarifLevel maps whittle severities to SARIF levels.
func sarifLevel(severity string) string {
	switch severity {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	default:
		return "note"
	}
}

// WriteSARIF writes r's findings as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report) error {
	checks := map[string]bool{}
	for _, f := range r.Fuzz.Findings {
		checks[f.Check] = true
	}
	var ids []string
	for c := range checks {
		ids = append(ids, c)
	}
	sort.Strings(ids)
	index := map[string]int{}
	driver := sarifDriver{Name: "whittle", Version: r.Tool.Version, InformationURI: "https://github.com/whittle-dev/whittle", Rules: []sarifRule{}}
	for i, id := range ids {
		index[id] = i
		desc := checkDescriptions[id]
		if desc == "" {
			desc = id
		}
		driver.Rules = append(driver.Rules, sarifRule{ID: id, ShortDescription: sarifMessage{Text: desc}})
	}
	run := sarifRun{Tool: sarifTool{Driver: driver}, Results: []sarifResult{}}
	for _, f := range r.Fuzz.Findings {
		res := sarifResult{
			RuleID:    f.Check,
			RuleIndex: index[f.Check],
			Level:     sarifLevel(f.Severity),
			Message:   sarifMessage{Text: fmt.Sprintf("%s: %s", f.Operation, f.Summary)},
			Locations: []sarifLocation{{
				LogicalLocations: []sarifLogical{{Name: f.Operation, Kind: "function"}},
			}},
			PartialFingerprints: map[string]string{"whittleFinding/v1": f.ID},
			Properties:          map[string]any{"severity": f.Severity, "image": r.Original.Ref},
		}
		if r.Spec.Source != "" {
			res.Locations[0].PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: r.Spec.Source}}
		}
		if f.Curl != "" {
			res.Properties["reproducer"] = f.Curl
		}
		if f.Request != "" {
			res.Properties["request"] = f.Request
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sarifLog{Schema: sarifSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("encoding SARIF report: %w", err)
	}
	return nil
}
