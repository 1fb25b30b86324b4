package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Volatile says which parts of an answer legitimately change between two
// identical runs of the same image (timestamps, request ids, ...). It is
// learned by asking the original image twice, and masks those parts when the
// minimal image's answers are compared.
type Volatile struct {
	Status bool `json:"status,omitempty"`
	// Body is set when a non-JSON body changed, or JSON bodies differ in shape.
	Body bool `json:"body,omitempty"`
	// Paths are JSON pointers (RFC 6901) of values that changed.
	Paths []string `json:"paths,omitempty"`
}

// LearnVolatile compares two answers of the original image to the same request.
func LearnVolatile(a, b Response) Volatile {
	var v Volatile
	if a.Status != b.Status || (a.Err == "") != (b.Err == "") {
		v.Status = true
	}
	if bytes.Equal(a.Body, b.Body) {
		return v
	}
	ja, okA := decodeJSON(a.Body)
	jb, okB := decodeJSON(b.Body)
	if !okA || !okB {
		v.Body = true
		return v
	}
	set := map[string]bool{}
	diffJSON("", ja, jb, set)
	for p := range set {
		v.Paths = append(v.Paths, p)
	}
	sort.Strings(v.Paths)
	return v
}

// Merge widens v with what o found volatile.
func (v *Volatile) Merge(o Volatile) {
	v.Status = v.Status || o.Status
	v.Body = v.Body || o.Body
	if len(o.Paths) == 0 {
		return
	}
	set := map[string]bool{}
	for _, p := range v.Paths {
		set[p] = true
	}
	for _, p := range o.Paths {
		set[p] = true
	}
	v.Paths = v.Paths[:0]
	for p := range set {
		v.Paths = append(v.Paths, p)
	}
	sort.Strings(v.Paths)
}

// Equivalent reports whether got answers like want, ignoring what v marks
// volatile. When it does not, the string says how they differ.
func Equivalent(want, got Response, v Volatile) (bool, string) {
	if (want.Err == "") != (got.Err == "") {
		if want.Err != "" {
			return false, fmt.Sprintf("original failed (%s) but minimal answered %d", want.Err, got.Status)
		}
		return false, fmt.Sprintf("original answered %d but minimal failed: %s", want.Status, got.Err)
	}
	if want.Err != "" {
		return true, ""
	}
	if !v.Status && want.Status != got.Status {
		return false, fmt.Sprintf("status %d, want %d", got.Status, want.Status)
	}
	if wc, gc := want.ContentType(), got.ContentType(); wc != gc {
		return false, fmt.Sprintf("content type %q, want %q", gc, wc)
	}
	if v.Body || bytes.Equal(want.Body, got.Body) {
		return true, ""
	}
	jw, okW := decodeJSON(want.Body)
	jg, okG := decodeJSON(got.Body)
	if !okW || !okG {
		return false, "body differs"
	}
	diffs := map[string]bool{}
	diffJSON("", jw, jg, diffs)
	var unexplained []string
	for p := range diffs {
		if !masked(p, v.Paths) {
			unexplained = append(unexplained, p)
		}
	}
	if len(unexplained) == 0 {
		return true, ""
	}
	sort.Strings(unexplained)
	if len(unexplained) > 3 {
		unexplained = append(unexplained[:3], "...")
	}
	return false, "body differs at " + strings.Join(unexplained, ", ")
}

// masked reports whether pointer p is at or below one of the volatile paths.
func masked(p string, paths []string) bool {
	for _, m := range paths {
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

func decodeJSON(b []byte) (any, bool) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	return v, true
}

// diffJSON records in out the JSON pointers where a and b differ. Values of
// different kinds, or arrays of different lengths, differ as a whole.
func diffJSON(path string, a, b any, out map[string]bool) {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			out[path] = true
			return
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok {
				out[path+"/"+escapePointer(k)] = true
				continue
			}
			diffJSON(path+"/"+escapePointer(k), x, y, out)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				out[path+"/"+escapePointer(k)] = true
			}
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			out[path] = true
			return
		}
		for i := range av {
			diffJSON(path+"/"+strconv.Itoa(i), av[i], bv[i], out)
		}
	default:
		if a != b {
			out[path] = true
		}
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
