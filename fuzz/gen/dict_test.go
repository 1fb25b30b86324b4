package gen

import (
	"fmt"
	"testing"
)

// Answers full of fresh values (ids, timestamps) must not grow the
// dictionary without bound.
func TestDictionaryStaysBounded(t *testing.T) {
	d := NewDictionary()
	for i := range 100000 {
		d.Add("id", float64(i))
		d.Add(fmt.Sprintf("key%d", i), fmt.Sprintf("value-%d", i))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.seen); n > 2*(nameCap*2*perNameCap+2*generalCap) {
		t.Fatalf("seen holds %d values", n)
	}
	if n := len(d.byName); n > nameCap {
		t.Fatalf("%d names remembered, cap %d", n, nameCap)
	}
	if ids := d.byName["id"]; len(ids) > 2*perNameCap || ids[len(ids)-1] != float64(99999) {
		t.Fatalf("ids: %d kept, last %v", len(ids), ids[len(ids)-1])
	}
	// A value dropped from its list may come back as new.
	d.mu.Unlock()
	d.Add("id", float64(0))
	d.mu.Lock()
	if ids := d.byName["id"]; ids[len(ids)-1] != float64(0) {
		t.Fatalf("a forgotten value was not added again: last %v", ids[len(ids)-1])
	}
}
