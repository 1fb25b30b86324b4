package imagepath

import "testing"

func TestUnderAny(t *testing.T) {
	dirs := []string{"/usr/lib", "/proc"}
	for p, want := range map[string]bool{
		"/usr/lib":          true,
		"/usr/lib/x/y.so":   true,
		"/proc/self/maps":   true,
		"/usr/lib64/x.so":   false, // a sibling sharing the prefix
		"/usr":              false,
		"/srv/proc/x":       false,
		"/usr/libexec/tool": false,
	} {
		if got := UnderAny(p, dirs); got != want {
			t.Errorf("UnderAny(%q) = %v, want %v", p, got, want)
		}
	}
}
