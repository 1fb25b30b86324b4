// Package corpus holds whittle's data model for HTTP exchanges — the requests
// the fuzzer sends, the answers the target gives and the coverage they earn —
// and stores them on disk so runs can resume, replay and merge.
package corpus

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Request is one HTTP request relative to the target's base URL.
// Path holds the escaped path and, when present, "?query".
type Request struct {
	// Operation names the spec operation this request exercises,
	// e.g. "GET /pets/{id}" or its operationId.
	Operation string              `json:"operation,omitempty"`
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Header    map[string][]string `json:"header,omitempty"`
	Body      []byte              `json:"body,omitempty"`
}

// HTTPRequest builds a net/http request against base (scheme://host[:port][/prefix]).
func (r Request) HTTPRequest(base string) (*http.Request, error) {
	target := strings.TrimRight(base, "/") + r.Path
	if !strings.HasPrefix(r.Path, "/") {
		target = strings.TrimRight(base, "/") + "/" + r.Path
	}
	if _, err := url.Parse(target); err != nil {
		return nil, err
	}
	var body *strings.Reader
	if r.Body != nil {
		body = strings.NewReader(string(r.Body))
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(r.Method, target, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Body == nil {
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	return req, nil
}

// Key identifies the request's content, for deduplication.
func (r Request) Key() string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte(' ')
	b.WriteString(r.Path)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteByte('\n')
		b.WriteString(http.CanonicalHeaderKey(k))
		b.WriteByte(':')
		b.WriteString(strings.Join(r.Header[k], ","))
	}
	b.WriteString("\n\n")
	b.Write(r.Body)
	return b.String()
}

// Response is what the target answered, or why it did not.
type Response struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
	// Truncated is set when the body exceeded the size cap.
	Truncated bool          `json:"truncated,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	// Err is set when no answer came (timeout, connection reset, ...).
	Err string `json:"error,omitempty"`
}

// NoAnswer reports whether no answer came (a transport failure or a
// timeout), as opposed to an answer of any status.
func (r Response) NoAnswer() bool { return r.Status == 0 && r.Err != "" }

// ContentType returns the media type of the answer without parameters.
func (r Response) ContentType() string {
	for k, vs := range r.Header {
		if strings.EqualFold(k, "Content-Type") && len(vs) > 0 {
			ct := vs[0]
			if i := strings.IndexByte(ct, ';'); i >= 0 {
				ct = ct[:i]
			}
			return strings.ToLower(strings.TrimSpace(ct))
		}
	}
	return ""
}
