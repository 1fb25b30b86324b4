package jvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/whittle-dev/whittle/tracer"
)

// Wire format of a message record (bpf/jvm.bpf.c): the tracer's record
// header, the message's length and the message (agent/agent.c says what
// messages there are). The agent runs inside the target: everything in a
// message is hostile input.
const (
	evJVM      = 16 // EV_JVM in bpf/jvm.bpf.c
	hdrSize    = tracer.RecordHeaderSize
	msgOffset  = hdrSize + 8
	maxMessage = 1023 // JVM_MSG - 1
)

var errMalformed = errors.New("malformed JVM agent message")

// record is one agent message and who sent it.
type record struct {
	tgid uint32 // host process id of the JVM
	// thread is the host thread that sent the message: for a hit, the
	// thread whose breakpoint it was, unless the agent replayed it.
	thread uint32
	mntns  uint64
	ts     uint64 // CLOCK_MONOTONIC ns when BPF read it
	msg    message
}

// message is a parsed agent message; which fields are set depends on kind.
type message struct {
	kind byte // 'V', 'S', 'M', 'H', 'E', 'R'

	// V: the JVM
	vm, version, home string
	// S: the scope, how it was chosen ("Main-Class", "Start-Class", "main
	// class", "options", "none"), the detail and the package prefixes
	// ("com/example/shop/"); defaultPackage: classes without a package.
	how, detail    string
	prefixes       []string
	defaultPackage bool
	// M and H: the agent's method id (per JVM)
	id uint32
	// M: the method
	class, name, desc, source string
	line                      int
	// H: CLOCK_MONOTONIC ns of the first call
	at uint64
	// E: what the agent could not do
	text string
	// R: how many messages the replay held
	count int
}

// decodeRecord parses a raw ring buffer record. It never panics.
func decodeRecord(b []byte) (record, error) {
	if len(b) < msgOffset || b[0] != evJVM {
		return record{}, fmt.Errorf("%w: record of %d bytes", errMalformed, len(b))
	}
	le := binary.LittleEndian
	r := record{thread: le.Uint32(b[4:]), tgid: le.Uint32(b[8:]), mntns: le.Uint64(b[16:]), ts: le.Uint64(b[24:])}
	n := int(le.Uint32(b[hdrSize:]))
	if n > maxMessage || msgOffset+n > len(b) {
		return record{}, fmt.Errorf("%w: message of %d bytes in a record of %d", errMalformed, n, len(b))
	}
	m, err := parseMessage(string(b[msgOffset : msgOffset+n]))
	if err != nil {
		return record{}, err
	}
	r.msg = m
	return r, nil
}

// parseMessage parses one agent message (tab-separated fields).
func parseMessage(s string) (message, error) {
	f := strings.Split(s, "\t")
	bad := func(why string) (message, error) {
		return message{}, fmt.Errorf("%w: %s: %.80q", errMalformed, why, s)
	}
	if len(f[0]) != 1 {
		return bad("no message kind")
	}
	m := message{kind: f[0][0]}
	want := map[byte]int{'V': 4, 'S': 4, 'M': 7, 'H': 3, 'E': 2, 'R': 2}[m.kind]
	if want == 0 {
		return bad("unknown message kind")
	}
	// R may say "log full" after its count; E's text is whatever remains.
	if len(f) < want || (len(f) > want && m.kind != 'R') {
		return bad(fmt.Sprintf("%d fields, want %d", len(f), want))
	}
	var err error
	switch m.kind {
	case 'V':
		m.vm, m.version, m.home = f[1], f[2], f[3]
	case 'S':
		m.how, m.detail = f[1], f[2]
		for _, p := range strings.Split(f[3], ",") {
			switch {
			case p == "(default package)":
				m.defaultPackage = true
			case validPrefix(p):
				m.prefixes = append(m.prefixes, p)
			case p != "":
				return bad("invalid package prefix")
			}
		}
	case 'M':
		if m.id, err = parseID(f[1]); err != nil {
			return bad(err.Error())
		}
		m.class, m.name, m.desc, m.source = f[2], f[3], f[4], f[5]
		if m.line, err = strconv.Atoi(f[6]); err != nil || m.line < 0 {
			return bad("invalid line")
		}
		if !validClass(m.class) || m.name == "" || !strings.HasPrefix(m.desc, "(") {
			return bad("invalid method")
		}
	case 'H':
		if m.id, err = parseID(f[1]); err != nil {
			return bad(err.Error())
		}
		if m.at, err = strconv.ParseUint(f[2], 10, 64); err != nil {
			return bad("invalid time")
		}
	case 'E':
		m.text = f[1]
	case 'R':
		if m.count, err = strconv.Atoi(f[1]); err != nil || m.count < 0 {
			return bad("invalid count")
		}
	}
	return m, nil
}

func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || v == 0 {
		return 0, errors.New("invalid method id")
	}
	return uint32(v), nil
}

// validClass accepts a class's internal name ("com/example/Main"): no
// empty part, none of the characters the JVM forbids in names.
func validClass(s string) bool {
	if s == "" || strings.ContainsAny(s, ".;[") {
		return false
	}
	for _, part := range strings.Split(s, "/") {
		if part == "" {
			return false
		}
	}
	return true
}

// validPrefix accepts a package prefix as the agent writes it: an internal
// package name followed by a slash.
func validPrefix(p string) bool {
	return strings.HasSuffix(p, "/") && validClass(strings.TrimSuffix(p, "/"))
}
