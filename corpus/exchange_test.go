package corpus

import "testing"

func TestNoAnswer(t *testing.T) {
	for _, tt := range []struct {
		resp Response
		want bool
	}{
		{Response{Err: "read: connection reset by peer"}, true},
		{Response{Err: "context deadline exceeded"}, true},
		{Response{Status: 502, Err: "body cut short"}, false}, // an answer, however bad
		{Response{Status: 200}, false},
		{Response{}, false}, // nothing sent yet
	} {
		if got := tt.resp.NoAnswer(); got != tt.want {
			t.Errorf("%+v: NoAnswer() = %v, want %v", tt.resp, got, tt.want)
		}
	}
}
