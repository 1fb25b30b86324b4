package oracle

import (
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

func schemaSignature(re *openapi3filter.ResponseError) (string, string) {
	var se *openapi3.SchemaError
	if errors.As(re, &se) {
		path, inner := innermost(se, 0)
		se = inner
		ptr := "/" + strings.Join(path, "/")
		ptr = digits.ReplaceAllString(ptr, "N")
		sig := fmt.Sprintf("%s %s: %s", ptr, se.SchemaField, se.Reason)
		return sig, oneLine(fmt.Sprintf("%s: at %s: %s", re.Reason, ptr, se.Reason))
	}
	msg := re.Reason
	if re.Err != nil {
		msg += ": " + re.Err.Error()
	}
	return oneLine(re.Reason), oneLine(msg)
}

// innermost follows allOf/oneOf/anyOf errors down to the schema error that
// names the real fault, and returns the full path to it.
func innermost(se *openapi3.SchemaError, depth int) ([]string, *openapi3.SchemaError) {
	path := se.JSONPointer()
	if se.Origin == nil || depth > 16 {
		return path, se
	}
	var next error = se.Origin
	for i := 0; i < 8 && next != nil; i++ {
		var me openapi3.MultiError
		if errors.As(next, &me) && len(me) > 0 {
			next = me[0]
			continue
		}
		var inner *openapi3.SchemaError
		if errors.As(next, &inner) && inner != se {
			p, deepest := innermost(inner, depth+1)
			if len(p) >= len(path) && slices.Equal(p[:len(path)], path) {
				return p, deepest
			}
			return append(path, p...), deepest
		}
		break
	}
	return path, se
}

var (
	digits = regexp.MustCompile(`[0-9]+`)
	hexIDs = regexp.MustCompile(`[0-9a-fA-F-]{8,}`)
)

// bodyDigest fingerprints an error body with numbers and ids masked, so the
// same fault with different values counts once.
func bodyDigest(body []byte) string {
	b := body
	if len(b) > 512 {
		b = b[:512]
	}
	s := hexIDs.ReplaceAllString(string(b), "H")
	s = digits.ReplaceAllString(s, "N")
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return oneLine(s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
