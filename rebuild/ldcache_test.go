package rebuild

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// encodeLdCache writes a cache in glibc's new format (little or big endian),
// optionally preceded by an old-format table, with a generator and a hwcaps
// extension. It is the test's independent model of ldconfig's writer.
func encodeLdCache(entries []LdCacheEntry, hwcaps []string, generator string, old bool, bo binary.ByteOrder) []byte {
	var strs bytes.Buffer
	strOff := map[string]int{}
	addStr := func(s string) int {
		if o, ok := strOff[s]; ok {
			return o
		}
		strOff[s] = strs.Len()
		strs.WriteString(s)
		strs.WriteByte(0)
		return strOff[s]
	}
	n := len(entries)
	strBase := ldCacheNewHeaderSize + n*ldCacheNewEntrySize
	hwIdx := map[string]int{}
	for i, h := range hwcaps {
		hwIdx[h] = i
	}
	type raw struct{ key, val int }
	raws := make([]raw, n)
	for i, e := range entries {
		raws[i] = raw{addStr(e.Key), addStr(e.Value)}
	}
	hwOffs := make([]int, len(hwcaps))
	for i, h := range hwcaps {
		hwOffs[i] = addStr(h)
	}
	var nb bytes.Buffer
	nb.WriteString(ldCacheNewMagic)
	u32 := func(v uint32) { _ = binary.Write(&nb, bo, v) }
	u32(uint32(n))
	u32(uint32(strs.Len()))
	flag := byte(2)
	if bo == binary.BigEndian {
		flag = 3
	}
	nb.Write([]byte{flag, 0, 0, 0})
	extAt := strBase + strs.Len()
	extAt = (extAt + 3) &^ 3
	u32(uint32(extAt))
	u32(0)
	u32(0)
	u32(0)
	for i, e := range entries {
		u32(uint32(e.Flags))
		u32(uint32(strBase + raws[i].key))
		u32(uint32(strBase + raws[i].val))
		u32(e.OSVersion)
		hw := e.HWCap
		if e.HWCapsDir != "" {
			hw = ldCacheHWCapExtension | uint64(hwIdx[e.HWCapsDir])
		}
		_ = binary.Write(&nb, bo, hw)
	}
	nb.Write(strs.Bytes())
	for nb.Len() < extAt {
		nb.WriteByte(0)
	}
	// extension: magic, count, sections; then section data
	sections := 1
	if len(hwcaps) > 0 {
		sections = 2
	}
	dataAt := extAt + 8 + sections*16
	u32(ldCacheExtensionMagic)
	u32(uint32(sections))
	u32(ldCacheExtGenerator)
	u32(0)
	u32(uint32(dataAt))
	u32(uint32(len(generator)))
	hwAt := dataAt + len(generator)
	hwAt = (hwAt + 3) &^ 3
	if len(hwcaps) > 0 {
		u32(ldCacheExtHWCaps)
		u32(0)
		u32(uint32(hwAt))
		u32(uint32(4 * len(hwcaps)))
	}
	nb.WriteString(generator)
	for nb.Len() < hwAt {
		nb.WriteByte(0)
	}
	for _, o := range hwOffs {
		u32(uint32(strBase + o))
	}
	if !old {
		return nb.Bytes()
	}
	var ob bytes.Buffer
	ob.WriteString(ldCacheOldMagic)
	ob.WriteByte(0)
	_ = binary.Write(&ob, binary.LittleEndian, uint32(1))
	_ = binary.Write(&ob, binary.LittleEndian, [3]uint32{3, 0, 0})
	for ob.Len()%8 != 0 {
		ob.WriteByte(0)
	}
	ob.Write(nb.Bytes())
	return ob.Bytes()
}

var craftedEntries = []LdCacheEntry{
	{Flags: LdCacheFlagELFLibc6 | LdCacheFlagX8664Lib64, Key: "libfoo.so.1", Value: "/opt/foo/glibc-hwcaps/x86-64-v3/libfoo.so.1", HWCapsDir: "x86-64-v3"},
	{Flags: LdCacheFlagELFLibc6 | LdCacheFlagX8664Lib64, Key: "libfoo.so.1", Value: "/opt/foo/libfoo.so.1"},
	{Flags: LdCacheFlagELFLibc6 | LdCacheFlagX8664Lib64, Key: "libc.so.6", Value: "/lib/x86_64-linux-gnu/libc.so.6", OSVersion: 0},
	{Flags: LdCacheFlagELFLibc6, Key: "libc.so.6", Value: "/lib/i386-linux-gnu/libc.so.6"},
}

func TestParseLdCacheCrafted(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  bool
		bo   binary.ByteOrder
	}{{"new-le", false, binary.LittleEndian}, {"old+new", true, binary.LittleEndian}, {"new-be", false, binary.BigEndian}} {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeLdCache(craftedEntries, []string{"x86-64-v2", "x86-64-v3"}, "ldconfig (test) 2.36", tc.old, tc.bo)
			c, err := ParseLdCache(b)
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != "new" || c.Generator != "ldconfig (test) 2.36" {
				t.Errorf("format %q generator %q", c.Format, c.Generator)
			}
			if strings.Join(c.HWCaps, ",") != "x86-64-v2,x86-64-v3" {
				t.Errorf("hwcaps %q", c.HWCaps)
			}
			if len(c.Entries) != len(craftedEntries) {
				t.Fatalf("%d entries, want %d", len(c.Entries), len(craftedEntries))
			}
			for i, e := range c.Entries {
				want := craftedEntries[i]
				if e.Key != want.Key || e.Value != want.Value || e.Flags != want.Flags || e.HWCapsDir != want.HWCapsDir {
					t.Errorf("entry %d = %+v, want %+v", i, e, want)
				}
			}
			if got := c.Lookup("libc.so.6"); len(got) != 2 || got[0].Value != "/lib/x86_64-linux-gnu/libc.so.6" {
				t.Errorf("Lookup(libc.so.6) = %+v", got)
			}
		})
	}
}

func TestParseLdCacheOldOnly(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(ldCacheOldMagic)
	b.WriteByte(0)
	_ = binary.Write(&b, binary.LittleEndian, uint32(1))
	_ = binary.Write(&b, binary.LittleEndian, [3]uint32{3, 0, 8})
	b.WriteString("libx.so\x00/lib/libx.so\x00")
	c, err := ParseLdCache(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != "old" || len(c.Entries) != 1 || c.Entries[0].Key != "libx.so" || c.Entries[0].Value != "/lib/libx.so" {
		t.Errorf("got %+v", c)
	}
}

func TestParseLdCacheBad(t *testing.T) {
	good := encodeLdCache(craftedEntries, []string{"x86-64-v3"}, "gen", false, binary.LittleEndian)
	bad := map[string][]byte{
		"empty":       nil,
		"magic":       []byte("not a cache at all, really not"),
		"short":       good[:30],
		"entries cut": good[:ldCacheNewHeaderSize+10],
		"endian flag": func() []byte { b := bytes.Clone(good); b[28] = 1; return b }(),
		"string off":  func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[48+4:], 1<<30); return b }(),
		"no nul":      func() []byte { b := bytes.Clone(good[:ldCacheNewHeaderSize+4*ldCacheNewEntrySize+3]); return b }(),
		"ext off":     func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[32:], 1<<30); return b }(),
		"nlibs huge":  func() []byte { b := bytes.Clone(good); binary.LittleEndian.PutUint32(b[20:], 0xffffffff); return b }(),
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseLdCache(b); !errors.Is(err, ErrBadLdCache) {
				t.Errorf("err = %v, want ErrBadLdCache", err)
			}
		})
	}
}

func TestParseLdCacheHost(t *testing.T) {
	b, err := os.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Skipf("SKIP: no host ld.so.cache: %v", err)
	}
	c, err := ParseLdCache(b)
	if err != nil {
		t.Fatal(err)
	}
	found := c.Lookup("libc.so.6")
	if len(found) == 0 {
		t.Fatalf("libc.so.6 not in the host cache (%d entries)", len(c.Entries))
	}
	for _, e := range found {
		if _, err := os.Stat(e.Value); err != nil {
			t.Errorf("cache entry %s -> %s: %v", e.Key, e.Value, err)
		}
	}
	t.Logf("host cache: %d entries, generator %q, hwcaps %q", len(c.Entries), c.Generator, c.HWCaps)
}

// TestLdconfigCache builds a cache with the host's ldconfig inside a temp
// root and checks the parser and the loader read it as ld.so would.
func TestLdconfigCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: ldconfig -r needs root (chroot)")
	}
	ldconfig, err := exec.LookPath("ldconfig")
	if err != nil {
		t.Skip("SKIP: no ldconfig")
	}
	root := mergedUsrRoot(t, "/usr/bin/ls")
	// Move libpcre2 into a directory only ld.so.conf.d names.
	libs, _ := hostDeps(t, "/usr/bin/ls")
	pcre := filepath.Base(libs["libpcre2-8.so.0"])
	if pcre == "." {
		t.Skip("SKIP: host ls does not use libpcre2-8")
	}
	multi := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	real, _ := filepath.EvalSymlinks(filepath.Join(multi, pcre))
	if err := os.MkdirAll(filepath.Join(root, "opt/pcre"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(real, filepath.Join(root, "opt/pcre", filepath.Base(real))); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(multi, pcre))
	writeFile(t, root, "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/pcre.conf", "# test\n/opt/pcre\n", 0o644)
	writeFile(t, root, "etc/ld.so.conf.d/multiarch.conf", "/usr/lib/x86_64-linux-gnu\n", 0o644)
	if out, err := exec.Command(ldconfig, "-r", root).CombinedOutput(); err != nil {
		t.Fatalf("ldconfig -r: %v\n%s", err, out)
	}
	f := openDir(t, root)
	data, err := f.ReadFile("/etc/ld.so.cache")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseLdCache(data)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Lookup("libpcre2-8.so.0")
	if len(got) == 0 || got[0].Value != "/opt/pcre/libpcre2-8.so.0" {
		t.Fatalf("libpcre2-8.so.0 in cache: %+v", got)
	}
	if !strings.Contains(c.Generator, "ldconfig") {
		t.Errorf("generator %q", c.Generator)
	}
	l := NewLoader(f, nil)
	deps, err := l.Closure("/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	var pcreDep *Dep
	for i, d := range deps {
		if d.Name == "libpcre2-8.so.0" {
			pcreDep = &deps[i]
		}
	}
	if pcreDep == nil || pcreDep.Path != "/opt/pcre/libpcre2-8.so.0" || pcreDep.Via != "ld.so.cache" {
		t.Errorf("libpcre2-8 resolved as %+v, want /opt/pcre via the cache", pcreDep)
	}
}

func FuzzParseLdCache(f *testing.F) {
	f.Add(encodeLdCache(craftedEntries, []string{"x86-64-v3"}, "gen", false, binary.LittleEndian))
	f.Add(encodeLdCache(craftedEntries, nil, "", true, binary.LittleEndian))
	f.Add(encodeLdCache(craftedEntries[:1], []string{"a"}, "g", false, binary.BigEndian))
	f.Add([]byte(ldCacheOldMagic + "\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00a\x00"))
	if b, err := os.ReadFile("/etc/ld.so.cache"); err == nil && len(b) < 1<<16 {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseLdCache(b)
		if err != nil {
			if !errors.Is(err, ErrBadLdCache) {
				t.Fatalf("error %v does not wrap ErrBadLdCache", err)
			}
			return
		}
		for _, e := range c.Entries {
			_ = c.Lookup(e.Key)
		}
	})
}
