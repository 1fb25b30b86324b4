package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/whittle-dev/whittle/internal/loopback"
)

// maxMessage bounds one inspector message: a take of a large application's
// block coverage is a few MB; the inspector is the target's, so hostile.
const maxMessage = 64 << 20

// session is one Chrome DevTools Protocol connection to a node process's
// inspector, reached on the loopback of the process's network namespace.
type session struct {
	conn *websocket.Conn

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply
	err     error // the read loop's end
	done    chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// dialInspector finds the debugger URL of the inspector listening on port
// in pid's network namespace and connects to it.
func dialInspector(ctx context.Context, pid, port int) (*session, error) {
	listURL := "http://127.0.0.1:" + strconv.Itoa(port) + "/json/list"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, listURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := loopback.NewClientInNetwork(pid, 5*time.Second).Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the inspector of pid %d for its targets: %w", pid, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the inspector's targets of pid %d: %w", pid, err)
	}
	ws, err := debuggerURL(body, port)
	if err != nil {
		return nil, fmt.Errorf("inspector of pid %d: %w", pid, err)
	}
	// The upgrade needs a client without a timeout (the connection lives on).
	conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPClient: loopback.NewClientInNetwork(pid, 0)})
	if err != nil {
		return nil, fmt.Errorf("connecting to the inspector of pid %d: %w", pid, err)
	}
	conn.SetReadLimit(maxMessage)
	s := &session{conn: conn, pending: map[int64]chan reply{}, done: make(chan struct{})}
	go s.read()
	return s, nil
}

// debuggerURL picks the node target's WebSocket URL from /json/list and
// checks that it is on the inspector's own loopback address and port.
func debuggerURL(list []byte, port int) (string, error) {
	var targets []struct {
		Type string `json:"type"`
		URL  string `json:"webSocketDebuggerUrl"`
	}
	if err := json.Unmarshal(list, &targets); err != nil {
		return "", fmt.Errorf("not an inspector's target list: %w", err)
	}
	for _, t := range targets {
		u, err := url.Parse(t.URL)
		if err != nil || u.Scheme != "ws" || u.Hostname() != "127.0.0.1" || u.Port() != strconv.Itoa(port) {
			continue
		}
		return t.URL, nil
	}
	return "", errors.New("no debugger URL on its own address in its target list")
}

// read dispatches replies to their calls; events are not subscribed to,
// and anything else is dropped.
func (s *session) read() {
	var err error
	for {
		var data []byte
		if _, data, err = s.conn.Read(context.Background()); err != nil {
			break
		}
		var m struct {
			ID *int64 `json:"id"`
			reply
		}
		if json.Unmarshal(data, &m) != nil || m.ID == nil {
			continue
		}
		s.mu.Lock()
		ch := s.pending[*m.ID]
		delete(s.pending, *m.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- m.reply
		}
	}
	s.mu.Lock()
	s.err = err
	for id, ch := range s.pending {
		close(ch)
		delete(s.pending, id)
	}
	s.mu.Unlock()
	close(s.done)
}

// call sends a method and decodes its result into out (nil: ignored).
func (s *session) call(ctx context.Context, method string, params, out any) error {
	ch := make(chan reply, 1)
	s.mu.Lock()
	if s.err != nil || s.pending == nil {
		err := s.err
		s.mu.Unlock()
		return fmt.Errorf("inspector connection closed: %v", err)
	}
	s.nextID++
	id := s.nextID
	s.pending[id] = ch
	s.mu.Unlock()
	msg, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Method string `json:"method"`
		Params any    `json:"params,omitempty"`
	}{id, method, params})
	if err != nil {
		return err
	}
	if err := s.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		s.forget(id)
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: inspector connection closed", method)
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if out != nil {
			if err := json.Unmarshal(r.Result, out); err != nil {
				return fmt.Errorf("%s: decoding the result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		s.forget(id)
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

func (s *session) forget(id int64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// alive reports whether the connection is still open.
func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

func (s *session) close() error {
	err := s.conn.Close(websocket.StatusNormalClosure, "")
	<-s.done
	return err
}
