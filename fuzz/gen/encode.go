package gen

import (
	"encoding/json"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/fuzz/spec"
)

// Scalar renders a primitive as parameter text; arrays and objects as JSON.
func Scalar(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e18 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pair is a query or cookie name/value before escaping.
type pair struct{ name, value string }

// serialize renders a parameter value according to its style, explode and
// Swagger collectionFormat. For path parameters it returns one segment value,
// for query and cookie parameters name/value pairs, for headers one value.
func serialize(p *spec.Parameter, v any) []pair {
	if p.ContentType != "" {
		b, _ := json.Marshal(v)
		return []pair{{p.Name, string(b)}}
	}
	switch x := v.(type) {
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = Scalar(e)
		}
		return serializeArray(p, items)
	case map[string]any:
		return serializeObject(p, x)
	}
	text := Scalar(v)
	switch {
	case p.In == "path" && p.Style == "label":
		text = "." + text
	case p.In == "path" && p.Style == "matrix":
		text = ";" + p.Name + "=" + text
	}
	return []pair{{p.Name, text}}
}

func collectionSep(format string) (string, bool) {
	switch format {
	case "csv":
		return ",", true
	case "ssv":
		return " ", true
	case "tsv":
		return "\t", true
	case "pipes":
		return "|", true
	}
	return "", false
}

func serializeArray(p *spec.Parameter, items []string) []pair {
	if p.CollectionFormat == "multi" {
		out := make([]pair, len(items))
		for i, it := range items {
			out[i] = pair{p.Name, it}
		}
		return out
	}
	if sep, ok := collectionSep(p.CollectionFormat); ok {
		return []pair{{p.Name, strings.Join(items, sep)}}
	}
	switch p.In {
	case "path":
		switch p.Style {
		case "label":
			if p.Explode {
				return []pair{{p.Name, "." + strings.Join(items, ".")}}
			}
			return []pair{{p.Name, "." + strings.Join(items, ",")}}
		case "matrix":
			if p.Explode {
				var b strings.Builder
				for _, it := range items {
					b.WriteString(";" + p.Name + "=" + it)
				}
				return []pair{{p.Name, b.String()}}
			}
			return []pair{{p.Name, ";" + p.Name + "=" + strings.Join(items, ",")}}
		}
		return []pair{{p.Name, strings.Join(items, ",")}}
	case "header":
		return []pair{{p.Name, strings.Join(items, ",")}}
	}
	switch p.Style {
	case "spaceDelimited":
		if !p.Explode {
			return []pair{{p.Name, strings.Join(items, " ")}}
		}
	case "pipeDelimited":
		if !p.Explode {
			return []pair{{p.Name, strings.Join(items, "|")}}
		}
	}
	if p.Explode {
		out := make([]pair, len(items))
		for i, it := range items {
			out[i] = pair{p.Name, it}
		}
		return out
	}
	return []pair{{p.Name, strings.Join(items, ",")}}
}

func serializeObject(p *spec.Parameter, obj map[string]any) []pair {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if p.Style == "deepObject" {
		out := make([]pair, len(keys))
		for i, k := range keys {
			out[i] = pair{p.Name + "[" + k + "]", Scalar(obj[k])}
		}
		return out
	}
	if p.In == "query" && p.Explode && p.Style == "form" {
		out := make([]pair, len(keys))
		for i, k := range keys {
			out[i] = pair{k, Scalar(obj[k])}
		}
		return out
	}
	parts := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		if p.Explode {
			parts = append(parts, k+"="+Scalar(obj[k]))
		} else {
			parts = append(parts, k, Scalar(obj[k]))
		}
	}
	joined := strings.Join(parts, ",")
	switch {
	case p.In == "path" && p.Style == "label":
		joined = "." + joined
	case p.In == "path" && p.Style == "matrix":
		joined = ";" + p.Name + "=" + joined
	}
	return []pair{{p.Name, joined}}
}

// escapePath escapes a path segment value, keeping the style prefixes.
func escapePath(p *spec.Parameter, v string) string {
	if p.AllowReserved {
		return strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23", " ", "%20", "%", "%25").Replace(v)
	}
	esc := url.PathEscape(v)
	// Keep the separators styles use readable.
	return strings.NewReplacer("%3B", ";", "%3D", "=", "%2C", ",").Replace(esc)
}

func escapeQuery(p *spec.Parameter, v string) string {
	if p != nil && p.AllowReserved {
		return strings.NewReplacer("&", "%26", "#", "%23", " ", "%20", "%", "%25", "+", "%2B").Replace(v)
	}
	esc := url.QueryEscape(v)
	return strings.NewReplacer("%2C", ",", "%7C", "|", "%5B", "[", "%5D", "]").Replace(esc)
}

// headerSafe replaces bytes a header value cannot carry.
func headerSafe(v string) string {
	ok := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return v
	}
	b := []byte(v)
	for i, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// validHeaderName reports whether name is an HTTP token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func cookieSafe(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' || c == '%' {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)>>4, 16)+strconv.FormatInt(int64(c)&15, 16)))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
