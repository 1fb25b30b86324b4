package gen

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// isXML reports whether ct is an XML media type.
func isXML(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.HasSuffix(ct, "/xml") || strings.HasSuffix(ct, "+xml")
}

// encodeXML renders v as an XML document following the schema's OpenAPI
// xml objects (name, attribute, wrapped, namespace, prefix). The root is
// named by the schema's xml name, else its title, else "root".
func encodeXML(s *openapi3.Schema, v any) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	name := "root"
	if s != nil {
		if s.XML != nil && s.XML.Name != "" {
			name = s.XML.Name
		} else if t := xmlName(s.Title); t != "" {
			name = t
		}
	}
	writeXML(&b, name, s, v, 0)
	return b.Bytes()
}

func writeXML(b *bytes.Buffer, name string, s *openapi3.Schema, v any, depth int) {
	if s != nil {
		s = mergeAllOf(s)
	}
	tag := qualified(name, s)
	if arr, ok := v.([]any); ok {
		var items *openapi3.Schema
		if s != nil && s.Items != nil {
			items = s.Items.Value
		}
		itemName := name
		if items != nil && items.XML != nil && items.XML.Name != "" {
			itemName = items.XML.Name
		}
		wrapped := s != nil && s.XML != nil && s.XML.Wrapped
		if wrapped {
			b.WriteString("<" + tag + namespace(s) + ">")
		}
		for _, e := range arr {
			if depth < 16 {
				writeXML(b, itemName, items, e, depth+1)
			}
		}
		if wrapped {
			b.WriteString("</" + tag + ">")
		}
		return
	}
	b.WriteString("<" + tag + namespace(s))
	obj, isObj := v.(map[string]any)
	var children []string
	if isObj {
		for _, k := range sortedKeys(obj) {
			ps := propSchema(s, k)
			if ps != nil && ps.XML != nil && ps.XML.Attribute {
				b.WriteString(" " + qualified(xmlPropName(k, ps), ps) + `="`)
				_ = xml.EscapeText(b, []byte(Scalar(obj[k])))
				b.WriteString(`"`)
				continue
			}
			children = append(children, k)
		}
	}
	b.WriteString(">")
	switch {
	case isObj:
		for _, k := range children {
			if depth < 16 {
				ps := propSchema(s, k)
				writeXML(b, xmlPropName(k, ps), ps, obj[k], depth+1)
			}
		}
	case v != nil:
		_ = xml.EscapeText(b, []byte(Scalar(v)))
	}
	b.WriteString("</" + tag + ">")
}

func propSchema(s *openapi3.Schema, k string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if r := s.Properties[k]; r != nil {
		return r.Value
	}
	if r := s.AdditionalProperties.Schema; r != nil {
		return r.Value
	}
	return nil
}

func xmlPropName(k string, s *openapi3.Schema) string {
	if s != nil && s.XML != nil && s.XML.Name != "" {
		return s.XML.Name
	}
	if n := xmlName(k); n != "" {
		return n
	}
	return "property"
}

func qualified(name string, s *openapi3.Schema) string {
	if s != nil && s.XML != nil && s.XML.Prefix != "" {
		return s.XML.Prefix + ":" + name
	}
	return name
}

func namespace(s *openapi3.Schema) string {
	if s == nil || s.XML == nil || s.XML.Namespace == "" {
		return ""
	}
	attr := "xmlns"
	if s.XML.Prefix != "" {
		attr += ":" + s.XML.Prefix
	}
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s.XML.Namespace))
	return " " + attr + `="` + b.String() + `"`
}

// xmlName keeps the characters of s that are valid in an XML name.
func xmlName(s string) string {
	var b strings.Builder
	for i, c := range s {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c == '-' || c == '.' || c >= '0' && c <= '9')
		if ok {
			b.WriteRune(c)
		}
	}
	return b.String()
}
