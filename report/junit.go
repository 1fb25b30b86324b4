package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
)

// JUnit XML as CI systems read it (the de-facto Ant/Jenkins format): one
// testcase per spec operation, failing when the operation has findings or
// the minimal image answered it differently, plus one testcase for the
// verification as a whole.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     float64      `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      float64     `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Time      float64        `xml:"time,attr"`
	Failures  []junitFailure `xml:"failure,omitempty"`
	Error     *junitFailure  `xml:"error,omitempty"`
	SystemOut string         `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes r as JUnit XML.
func WriteJUnit(w io.Writer, r *Report) error {
	class := "whittle." + r.Original.Ref
	byOp := map[string]*junitCase{}
	var names []string
	caseFor := func(op string) *junitCase {
		c := byOp[op]
		if c == nil {
			c = &junitCase{Name: op, Classname: class}
			byOp[op] = c
			names = append(names, op)
		}
		return c
	}
	for _, o := range r.Fuzz.Operations {
		c := caseFor(o.Operation)
		c.SystemOut = fmt.Sprintf("%d requests: %d 2xx, %d 4xx, %d 5xx, %d without answer",
			o.Requests, o.Status2xx, o.Status4xx, o.Status5xx, o.Errors)
	}
	for _, f := range r.Fuzz.Findings {
		c := caseFor(f.Operation)
		c.Failures = append(c.Failures, junitFailure{
			Message: f.Check + ": " + f.Summary,
			Type:    f.Check,
			Text:    strings.TrimSpace(fmt.Sprintf("severity: %s\nrequest: %s\nresponse: %s\nreproduce:\n%s", f.Severity, f.Request, f.Response, f.Curl)),
		})
	}
	if v := r.Verification; v != nil {
		for _, d := range v.Divergences {
			c := caseFor(d.Operation)
			c.Failures = append(c.Failures, junitFailure{
				Message: "minimal image diverged: " + d.Reason,
				Type:    "divergence",
				Text:    fmt.Sprintf("request: %s\noriginal: %s\nminimal: %s", d.Request, d.Original, d.Minimal),
			})
		}
	}
	sort.Strings(names)
	fuzzSuite := junitSuite{Name: "fuzz " + r.Original.Ref, Time: r.Fuzz.Duration, Timestamp: r.StartedAt.Format("2006-01-02T15:04:05")}
	for _, n := range names {
		c := byOp[n]
		fuzzSuite.Cases = append(fuzzSuite.Cases, *c)
		fuzzSuite.Tests++
		if len(c.Failures) > 0 {
			fuzzSuite.Failures++
		}
	}
	suites := junitSuites{Name: "whittle", Suites: []junitSuite{fuzzSuite}}
	if v := r.Verification; v != nil {
		vc := junitCase{Name: "minimal image answers like the original", Classname: class,
			SystemOut: fmt.Sprintf("%d/%d identical, %d volatile fields masked", v.Identical, v.Total, v.Volatile)}
		vs := junitSuite{Name: "verify " + r.Original.Ref, Tests: 1}
		switch v.Result {
		case "identical":
		case "diverged":
			vc.Failures = []junitFailure{{Message: fmt.Sprintf("%d of %d answers differ", len(v.Divergences), v.Total), Type: "divergence"}}
			vs.Failures = 1
		default:
			vc.Error = &junitFailure{Message: v.Error, Type: "error"}
			vs.Errors = 1
		}
		vs.Cases = []junitCase{vc}
		suites.Suites = append(suites.Suites, vs)
	}
	if r.Error != "" {
		suites.Suites = append(suites.Suites, junitSuite{Name: "run " + r.Original.Ref, Tests: 1, Errors: 1,
			Cases: []junitCase{{Name: "run", Classname: class, Error: &junitFailure{Message: r.Error, Type: "error"}}}})
	}
	for _, s := range suites.Suites {
		suites.Tests += s.Tests
		suites.Failures += s.Failures
		suites.Errors += s.Errors
	}
	suites.Time = r.FinishedAt.Sub(r.StartedAt).Seconds()
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return fmt.Errorf("encoding JUnit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
