// Package imagepath holds what the fuzzer and the pipeline both need to
// know about paths inside a container image.
package imagepath

import "strings"

// PseudoFS are mounted by the runtime, never part of an image.
var PseudoFS = []string{"/proc", "/sys", "/dev"}

// UnderAny reports whether the clean absolute path p is one of dirs or
// lies beneath one.
func UnderAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
