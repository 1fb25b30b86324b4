package oracle

import "strings"

// IsTimeout reports whether a transport error (corpus.Response.Err) is a
// timeout: no answer in time, which a dead target does not explain.
func IsTimeout(e string) bool {
	e = strings.ToLower(e)
	return strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded")
}

func transportClass(e string) string {
	e = strings.ToLower(e)
	for _, c := range []string{"connection refused", "connection reset", "broken pipe", "eof", "no such host", "malformed http", "too many open files"} {
		if strings.Contains(e, c) {
			return c
		}
	}
	return "other"
}
