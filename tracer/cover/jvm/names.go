package jvm

import "strings"

// splitClass splits a dotted class name into its package and its simple
// name ("com.example.Cart$Line" → "com.example", "Cart$Line").
func splitClass(class string) (pkg, simple string) {
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		return class[:i], class[i+1:]
	}
	return "", class
}

// javaParams renders a method descriptor's parameters as Java does in
// stack traces and javadoc, classes by their simple names:
// "(Ljava/lang/String;I[J)V" → "(String,int,long[])". A malformed
// descriptor is returned as it is.
func javaParams(desc string) string {
	if !strings.HasPrefix(desc, "(") {
		return desc
	}
	var params []string
	rest := desc[1:]
	for rest != "" && rest[0] != ')' {
		dims := 0
		for rest != "" && rest[0] == '[' {
			dims++
			rest = rest[1:]
		}
		if rest == "" {
			return desc
		}
		var name string
		switch rest[0] {
		case 'L':
			end := strings.IndexByte(rest, ';')
			if end < 0 {
				return desc
			}
			name = rest[1:end]
			if i := strings.LastIndexByte(name, '/'); i >= 0 {
				name = name[i+1:]
			}
			rest = rest[end+1:]
		default:
			prim, ok := primitives[rest[0]]
			if !ok {
				return desc
			}
			name = prim
			rest = rest[1:]
		}
		params = append(params, name+strings.Repeat("[]", dims))
	}
	if rest == "" {
		return desc
	}
	return "(" + strings.Join(params, ",") + ")"
}

var primitives = map[byte]string{'B': "byte", 'C': "char", 'D': "double", 'F': "float", 'I': "int", 'J': "long", 'S': "short", 'Z': "boolean"}
