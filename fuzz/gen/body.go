package gen

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/whittle-dev/whittle/fuzz/spec"
)

// multipartBoundary is fixed so that bodies are reproducible.
const multipartBoundary = "whittle-7MA4YWxkTrZu0gW"

// Encodable reports whether the generator can encode bodies of media type ct.
func Encodable(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.Contains(ct, "json") || ct == "application/x-www-form-urlencoded" ||
		ct == "multipart/form-data" || strings.HasPrefix(ct, "text/") || isXML(ct) ||
		ct == "application/octet-stream" || strings.Contains(ct, "*")
}

// encodeBody renders v for media m and returns the Content-Type to send.
func encodeBody(m *spec.Media, v any) (string, []byte) {
	ct := strings.ToLower(m.Type)
	switch {
	case isXML(ct):
		return m.Type, encodeXML(m.Schema, v)
	case ct == "application/x-www-form-urlencoded":
		if obj, ok := v.(map[string]any); ok {
			return m.Type, []byte(formEncode(m, obj))
		}
	case ct == "multipart/form-data":
		if obj, ok := v.(map[string]any); ok {
			return "multipart/form-data; boundary=" + multipartBoundary, multipartEncode(m, obj)
		}
	case strings.HasPrefix(ct, "text/") || ct == "application/octet-stream":
		if s, ok := v.(string); ok {
			return m.Type, []byte(s)
		}
		return m.Type, []byte(Scalar(v))
	case strings.Contains(ct, "*"):
		b, _ := json.Marshal(v)
		return "application/json", b
	}
	b, _ := json.Marshal(v)
	return m.Type, b
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func formEncode(m *spec.Media, obj map[string]any) string {
	var parts []string
	for _, k := range sortedKeys(obj) {
		switch x := obj[k].(type) {
		case []any:
			explode := true
			if enc := m.Encoding[k]; enc != nil && enc.Explode != nil {
				explode = *enc.Explode
			}
			if !explode {
				items := make([]string, len(x))
				for i, e := range x {
					items[i] = Scalar(e)
				}
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(strings.Join(items, ",")))
				continue
			}
			for _, e := range x {
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(Scalar(e)))
			}
		case map[string]any:
			if enc := m.Encoding[k]; enc != nil && enc.Style == "deepObject" {
				for _, kk := range sortedKeys(x) {
					parts = append(parts, url.QueryEscape(k+"["+kk+"]")+"="+url.QueryEscape(Scalar(x[kk])))
				}
				continue
			}
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(Scalar(x)))
		default:
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(Scalar(x)))
		}
	}
	return strings.Join(parts, "&")
}

// isFile reports whether a multipart property carries a file.
func isFile(s *openapi3.Schema) bool {
	if s == nil {
		return false
	}
	return s.Format == "binary" || s.Format == "base64" || s.ContentMediaType != "" || s.ContentEncoding != ""
}

func multipartEncode(m *spec.Media, obj map[string]any) []byte {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary(multipartBoundary)
	for _, k := range sortedKeys(obj) {
		var ps *openapi3.Schema
		if m.Schema != nil {
			if r := mergeAllOf(m.Schema).Properties[k]; r != nil {
				ps = r.Value
			}
		}
		values := []any{obj[k]}
		if arr, ok := obj[k].([]any); ok && ps != nil && schemaTypes(ps)[0] == openapi3.TypeArray {
			values = arr
			if ps.Items != nil {
				ps = ps.Items.Value
			}
		}
		for _, v := range values {
			h := textproto.MIMEHeader{}
			ct := ""
			if enc := m.Encoding[k]; enc != nil && enc.ContentType != "" {
				ct = strings.TrimSpace(strings.Split(enc.ContentType, ",")[0])
			}
			var data []byte
			switch x := v.(type) {
			case map[string]any, []any:
				data, _ = json.Marshal(x)
				if ct == "" {
					ct = "application/json"
				}
			default:
				data = []byte(Scalar(x))
			}
			if isFile(ps) {
				h.Set("Content-Disposition", `form-data; name="`+escapeQuotes(k)+`"; filename="`+escapeQuotes(k)+`.bin"`)
				if ct == "" {
					ct = "application/octet-stream"
				}
			} else {
				h.Set("Content-Disposition", `form-data; name="`+escapeQuotes(k)+`"`)
			}
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			part, err := w.CreatePart(h)
			if err == nil {
				_, _ = part.Write(data)
			}
		}
	}
	_ = w.Close()
	return buf.Bytes()
}

func escapeQuotes(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "").Replace(s)
}
