package jvm

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

func TestParseMessage(t *testing.T) {
	cases := []struct {
		in   string
		want message
	}{
		{"V\tOpenJDK 64-Bit Server VM\t17.0.19+10\t/usr/lib/jvm/java-17-openjdk-amd64",
			message{kind: 'V', vm: "OpenJDK 64-Bit Server VM", version: "17.0.19+10", home: "/usr/lib/jvm/java-17-openjdk-amd64"}},
		{"S\tMain-Class\tcom.example.Main in /app/x.jar\tcom/example/",
			message{kind: 'S', how: "Main-Class", detail: "com.example.Main in /app/x.jar", prefixes: []string{"com/example/"}}},
		{"S\tmain class\tMain\t(default package)", message{kind: 'S', how: "main class", detail: "Main", defaultPackage: true}},
		{"S\tnone\tno main class\t", message{kind: 'S', how: "none", detail: "no main class"}},
		{"M\t7\tcom/example/Cart\tadd\t(Lcom/example/Item;I)V\tCart.java\t42",
			message{kind: 'M', id: 7, class: "com/example/Cart", name: "add", desc: "(Lcom/example/Item;I)V", source: "Cart.java", line: 42}},
		{"M\t8\tMain\t<clinit>\t()V\t\t0", message{kind: 'M', id: 8, class: "Main", name: "<clinit>", desc: "()V"}},
		{"H\t7\t123456789", message{kind: 'H', id: 7, at: 123456789}},
		{"E\tbreakpoints are not available", message{kind: 'E', text: "breakpoints are not available"}},
		{"R\t90", message{kind: 'R', count: 90}},
		{"R\t90\tlog full", message{kind: 'R', count: 90}},
	}
	for _, c := range cases {
		got, err := parseMessage(c.in)
		if err != nil {
			t.Errorf("parseMessage(%q): %v", c.in, err)
			continue
		}
		if got.kind != c.want.kind || got.vm != c.want.vm || got.version != c.want.version || got.home != c.want.home ||
			got.how != c.want.how || got.detail != c.want.detail || !slices.Equal(got.prefixes, c.want.prefixes) ||
			got.defaultPackage != c.want.defaultPackage || got.id != c.want.id || got.class != c.want.class ||
			got.name != c.want.name || got.desc != c.want.desc || got.source != c.want.source || got.line != c.want.line ||
			got.at != c.want.at || got.text != c.want.text || got.count != c.want.count {
			t.Errorf("parseMessage(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "X\t1", "MM\t1", "H\t0\t5", "H\tx\t5", "H\t1", "H\t1\t2\t3", "M\t1\tcom//A\tm\t()V\tA.java\t1",
		"M\t1\tcom.A\tm\t()V\tA.java\t1", "M\t1\tA\tm\tV\tA.java\t1", "M\t1\tA\tm\t()V\tA.java\t-1", "S\tx\ty\tcom/a",
		"R\t-1", "V\ta\tb"} {
		if _, err := parseMessage(bad); !errors.Is(err, errMalformed) {
			t.Errorf("parseMessage(%q) = %v, want errMalformed", bad, err)
		}
	}
}

func rawRecord(tgid uint32, msg string) []byte {
	b := make([]byte, msgOffset+len(msg))
	b[0] = evJVM
	le := binary.LittleEndian
	le.PutUint32(b[8:], tgid)
	le.PutUint64(b[16:], 4026531840)
	le.PutUint32(b[hdrSize:], uint32(len(msg)))
	copy(b[msgOffset:], msg)
	return b
}

func TestDecodeRecord(t *testing.T) {
	r, err := decodeRecord(rawRecord(42, "H\t3\t99"))
	if err != nil || r.tgid != 42 || r.mntns != 4026531840 || r.msg.kind != 'H' || r.msg.id != 3 || r.msg.at != 99 {
		t.Fatalf("decodeRecord = %+v, %v", r, err)
	}
	short := rawRecord(42, "H\t3\t99")
	binary.LittleEndian.PutUint32(short[hdrSize:], 100)
	for _, b := range [][]byte{nil, short, rawRecord(1, "H\t3\t99")[:msgOffset-1]} {
		if _, err := decodeRecord(b); !errors.Is(err, errMalformed) {
			t.Errorf("decodeRecord(%d bytes) = %v, want errMalformed", len(b), err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, m := range []string{"V\ta\tb\tc", "S\tMain-Class\tx\tcom/a/", "M\t1\tcom/A\tm\t()V\tA.java\t3", "H\t1\t2", "E\tx", "R\t3"} {
		f.Add(rawRecord(7, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		switch r.msg.kind {
		case 'V', 'S', 'E', 'R':
		case 'M':
			if r.msg.id == 0 || !validClass(r.msg.class) || r.msg.line < 0 {
				t.Fatalf("accepted an invalid method: %+v", r.msg)
			}
			_ = javaParams(r.msg.desc)
		case 'H':
			if r.msg.id == 0 {
				t.Fatalf("accepted method id 0")
			}
		default:
			t.Fatalf("accepted message kind %q", r.msg.kind)
		}
	})
}

func TestJavaParams(t *testing.T) {
	for desc, want := range map[string]string{
		"()V":                         "()",
		"([Ljava/lang/String;)V":      "(String[])",
		"(Ljava/util/Map;I[[JZ)Ljava": "(Map,int,long[][],boolean)",
		"(Lcom/a/Outer$Inner;C)V":     "(Outer$Inner,char)",
		"(Lcom/a/B":                   "(Lcom/a/B",
		"(Q)V":                        "(Q)V",
		"([":                          "([",
		"V":                           "V",
	} {
		if got := javaParams(desc); got != want {
			t.Errorf("javaParams(%q) = %q, want %q", desc, got, want)
		}
	}
	if p, s := splitClass("com.a.Outer$Inner"); p != "com.a" || s != "Outer$Inner" {
		t.Errorf("splitClass = %q, %q", p, s)
	}
	if p, s := splitClass("Main"); p != "" || s != "Main" {
		t.Errorf("splitClass(Main) = %q, %q", p, s)
	}
}

func TestFeatureVersion(t *testing.T) {
	for _, c := range []struct {
		in    string
		want  int
		known bool
	}{
		{"17.0.9+9-Debian-1deb12u1", 17, true},
		{"21+35", 21, true},
		{"21.0.2+13-LTS", 21, true},
		{"11.0.21+9-post-Debian-1deb11u1", 11, true},
		{"25.392-b08", 8, true}, // Java 8's HotSpot
		{"24.80-b11", 7, true},
		{"25", 25, true}, // a Java 25 that says nothing more
		{"openj9-0.41.0", 0, false},
		{"", 0, false},
	} {
		if got, known := FeatureVersion(c.in); got != c.want || known != c.known {
			t.Errorf("FeatureVersion(%q) = %d, %v; want %d, %v", c.in, got, known, c.want, c.known)
		}
	}
}
