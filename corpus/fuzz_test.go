package corpus

import (
	"errors"
	"testing"
)

// FuzzDecodeEntry: the decoder of entry and finding files never panics on
// arbitrary bytes, rejects with ErrCorrupt, and what it accepts re-encodes to
// something it accepts again.
func FuzzDecodeEntry(f *testing.F) {
	e := testEntry(1)
	e.ID = ContentID(e.Steps, e.Requests)
	good, err := EncodeEntry(e)
	if err != nil {
		f.Fatal(err)
	}
	fd, _ := EncodeFinding(FindingRecord{ID: "abc", Check: "crash"})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(fd)
	f.Add([]byte(`{"format":"whittle-corpus-entry","version":1,"data":{"id":"x","requests":[{"method":"GET","path":"/"}]}}`))
	f.Add([]byte(`{"format":"whittle-corpus-entry","version":1,"data":{"steps":[1e999],"requests":[{"method":"GET"}]}}`))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeEntry(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
		} else {
			again, err := EncodeEntry(got)
			if err != nil {
				t.Fatalf("re-encoding an accepted entry: %v", err)
			}
			if _, err := DecodeEntry(again); err != nil {
				t.Fatalf("re-encoded entry rejected: %v", err)
			}
		}
		if _, err := DecodeFinding(data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("finding error does not wrap ErrCorrupt: %v", err)
		}
	})
}
