package covdata

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Columns are the fields of a row of the JSON table, in order:
//
//	file          index into files (its path, "" when unknown)
//	line          first line, 0 when unknown
//	end_line      last line, 0 when unknown
//	name          the function's name
//	package       index into packages (the per-package summaries)
//	state         never, startup, requests or background
//	first_hit_ms  milliseconds from started_at to its first hit; -1 when never hit
//	operation     index into operations of the request that first reached it; -1 for none
//	lines_hit     lines hit inside it, as ranges ("3-5,9"); "" when not measured
//	lines_missed  lines measured and not hit, likewise
var Columns = []string{"file", "line", "end_line", "name", "package", "state", "first_hit_ms", "operation", "lines_hit", "lines_missed"}

// table is the JSON form of Coverage: one row per function, with files,
// packages and operations written once. A row costs about a third of the
// bytes an object with named fields would.
type table struct {
	Kind       string           `json:"kind,omitempty"`
	StartedAt  time.Time        `json:"started_at"`
	Columns    []string         `json:"columns"`
	Files      []string         `json:"files"`
	Packages   []PackageSummary `json:"packages"`
	Operations []string         `json:"operations"`
	Rows       [][]any          `json:"rows"`
	Omitted    int              `json:"omitted,omitempty"`

	lines int // lines parsed so far, against maxTableLines
}

// maxTableLines bounds the lines all rows of a table expand to when read.
const maxTableLines = 1 << 22

// MarshalJSON writes the compact table.
func (c Coverage) MarshalJSON() ([]byte, error) {
	pkgs := c.Packages
	if pkgs == nil {
		pkgs = Summaries(c.Functions)
	}
	t := table{Kind: c.Kind, StartedAt: c.Started, Columns: Columns, Packages: pkgs, Omitted: c.Omitted,
		Files: []string{}, Operations: []string{}, Rows: make([][]any, 0, len(c.Functions))}
	fileIdx, opIdx, pkgIdx := map[string]int{}, map[string]int{}, map[string]int{}
	for i, p := range pkgs {
		pkgIdx[p.Package] = i
	}
	index := func(m map[string]int, list *[]string, s string) int {
		i, ok := m[s]
		if !ok {
			i = len(*list)
			m[s] = i
			*list = append(*list, s)
		}
		return i
	}
	for i := range c.Functions {
		f := &c.Functions[i]
		p, ok := pkgIdx[f.Package]
		if !ok {
			return nil, fmt.Errorf("coverage of %s: package %q has no summary", f.Name, f.Package)
		}
		at, op := int64(-1), -1
		if f.State.Hit() {
			at = max(0, f.FirstHit.Milliseconds())
		}
		if f.Operation != "" {
			op = index(opIdx, &t.Operations, f.Operation)
		}
		state := f.State
		if state == "" {
			state = Never
		}
		t.Rows = append(t.Rows, []any{index(fileIdx, &t.Files, f.File), f.Line, f.EndLine, f.Name, p, string(state), at, op,
			FormatLines(f.LinesHit), FormatLines(f.LinesMissed)})
	}
	return json.Marshal(t)
}

// maxRows bounds the rows read back.
const maxRows = 4 * MaxFunctions

// UnmarshalJSON reads the compact table, checking every index.
func (c *Coverage) UnmarshalJSON(data []byte) error {
	var t struct {
		table
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return err
	}
	if !slices.Equal(t.Columns, Columns) {
		return fmt.Errorf("coverage table: columns %v, want %v", t.Columns, Columns)
	}
	if len(t.Rows) > maxRows {
		return fmt.Errorf("coverage table: %d rows, at most %d", len(t.Rows), maxRows)
	}
	out := Coverage{Kind: t.Kind, Started: t.StartedAt, Packages: t.Packages, Omitted: t.Omitted,
		Functions: make([]Function, 0, len(t.Rows))}
	if out.Omitted < 0 {
		return errors.New("coverage table: negative omitted count")
	}
	for i, raw := range t.Rows {
		f, err := t.row(raw)
		if err != nil {
			return fmt.Errorf("coverage table row %d: %w", i, err)
		}
		out.Functions = append(out.Functions, f)
	}
	*c = out
	return nil
}

func (t *table) row(raw json.RawMessage) (Function, error) {
	var r struct {
		File, Line, EndLine int
		Name                string
		Package             int
		State               State
		At                  int64
		Op                  int
		Hit, Missed         string
	}
	cells := []any{&r.File, &r.Line, &r.EndLine, &r.Name, &r.Package, &r.State, &r.At, &r.Op, &r.Hit, &r.Missed}
	var vals []json.RawMessage
	if err := json.Unmarshal(raw, &vals); err != nil {
		return Function{}, err
	}
	if len(vals) != len(cells) {
		return Function{}, fmt.Errorf("%d cells, want %d", len(vals), len(cells))
	}
	for i, v := range vals {
		if err := json.Unmarshal(v, cells[i]); err != nil {
			return Function{}, fmt.Errorf("%s: %w", Columns[i], err)
		}
	}
	f := Function{Line: r.Line, EndLine: r.EndLine, Name: r.Name, State: r.State}
	switch {
	case r.File < 0 || r.File >= len(t.Files):
		return f, fmt.Errorf("file index %d out of range", r.File)
	case r.Package < 0 || r.Package >= len(t.Packages):
		return f, fmt.Errorf("package index %d out of range", r.Package)
	case r.Op < -1 || r.Op >= len(t.Operations):
		return f, fmt.Errorf("operation index %d out of range", r.Op)
	case r.Line < 0 || r.EndLine < 0 || r.Line > maxLine || r.EndLine > maxLine:
		return f, fmt.Errorf("bad lines %d-%d", r.Line, r.EndLine)
	}
	switch r.State {
	case Never, Startup, Requests, Background:
	default:
		return f, fmt.Errorf("unknown state %q", r.State)
	}
	f.File, f.Package = t.Files[r.File], t.Packages[r.Package].Package
	if r.Op >= 0 {
		f.Operation = t.Operations[r.Op]
	}
	if f.State.Hit() {
		f.FirstHit = time.Duration(max(0, min(r.At, int64(1<<40)))) * time.Millisecond
	}
	var err error
	for _, l := range []struct {
		s   string
		dst *[]int
	}{{r.Hit, &f.LinesHit}, {r.Missed, &f.LinesMissed}} {
		if *l.dst, err = parseLines(l.s, min(maxListLines, maxTableLines-t.lines)); err != nil {
			return f, err
		}
		t.lines += len(*l.dst)
	}
	return f, nil
}
