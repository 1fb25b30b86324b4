package elfsym

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pclnSeed builds a small Go 1.20 pclntab with two functions.
func pclnSeed() []byte {
	le := binary.LittleEndian
	hdr := make([]byte, 8+8*8)
	le.PutUint32(hdr, magic120)
	hdr[6], hdr[7] = 1, 8
	le.PutUint64(hdr[8:], 2) // nfunc
	names := []byte("main.main\x00main.f\x00")
	funcnameOff := uint64(len(hdr))
	functabOff := funcnameOff + uint64(len(names))
	le.PutUint64(hdr[8+3*8:], funcnameOff)
	le.PutUint64(hdr[8+7*8:], functabOff)
	functab := make([]byte, 5*4)
	fdata := make([]byte, 16)
	le.PutUint32(functab[0:], 0x10)  // entry 0
	le.PutUint32(functab[4:], 20)    // funcoff 0
	le.PutUint32(functab[8:], 0x40)  // entry 1
	le.PutUint32(functab[12:], 28)   // funcoff 1
	le.PutUint32(functab[16:], 0x80) // end
	le.PutUint32(fdata[0:], 0x10)
	le.PutUint32(fdata[4:], 0)
	le.PutUint32(fdata[8:], 0x40)
	le.PutUint32(fdata[12:], 10)
	out := append(hdr, names...)
	out = append(out, functab...)
	return append(out, fdata...)
}

func TestParsePclntabSeed(t *testing.T) {
	p, err := ParsePclntab(pclnSeed())
	if err != nil {
		t.Fatal(err)
	}
	funcs, bad := p.Funcs()
	if bad != 0 || len(funcs) != 2 || funcs[0].Name != "main.main" || funcs[1].Name != "main.f" ||
		funcs[0].Entry != 0x10 || funcs[0].End != 0x40 || funcs[1].End != 0x80 || !p.EntryRelative() {
		t.Fatalf("funcs = %+v (bad %d)", funcs, bad)
	}
}

func FuzzParsePclntab(f *testing.F) {
	f.Add(pclnSeed())
	if data, err := os.ReadFile("/proc/self/exe"); err == nil {
		if i := bytes.Index(data, []byte{0xf1, 0xff, 0xff, 0xff, 0, 0}); i >= 0 {
			f.Add(data[i:min(len(data), i+4096)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePclntab(data)
		if err != nil {
			return
		}
		funcs, _ := p.Funcs()
		for _, fn := range funcs {
			if fn.End < fn.Entry {
				t.Fatalf("end before entry: %+v", fn)
			}
		}
	})
}

// FuzzBinary: arbitrary bytes through the whole ELF path never panic.
func FuzzBinary(f *testing.F) {
	if data := tinyELF(f); data != nil {
		f.Add(data)
	}
	if data := pclnELF(f); data != nil {
		f.Add(data)
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := NewBinary(bytes.NewReader(data))
		if err != nil {
			return
		}
		tab, err := b.Functions()
		if err != nil {
			return
		}
		for i, fn := range tab.Funcs {
			if i >= 8 {
				break
			}
			_ = b.CheckEntry(fn)
		}
	})
}

// tinyELF compiles a small C executable with a .symtab (nil without a C
// compiler): a small seed keeps the fuzzer fast.
func tinyELF(f *testing.F) []byte {
	cc, err := exec.LookPath("cc")
	if err != nil {
		return nil
	}
	dir := f.TempDir()
	src := filepath.Join(dir, "t.c")
	out := filepath.Join(dir, "t")
	code := "__attribute__((noinline)) int g(int x){return x*3+1;}\n" +
		"void _start(void){volatile int v=0;for(;;)v+=g(v);}\n"
	if os.WriteFile(src, []byte(code), 0o644) != nil {
		return nil
	}
	if exec.Command(cc, "-O1", "-nostdlib", "-static", "-fno-asynchronous-unwind-tables", "-Wl,--build-id=none",
		"-Wl,-z,noseparate-code", "-Wl,-z,norelro", "-o", out, src).Run() != nil {
		return nil
	}
	data, _ := os.ReadFile(out)
	return data
}

// pclnELF is tinyELF stripped, with a Go pclntab section added (the seed
// table, which lists no real code: the pclntab path runs and fails late).
func pclnELF(f *testing.F) []byte {
	data := tinyELF(f)
	if data == nil {
		return nil
	}
	dir := f.TempDir()
	in, pcln, out := filepath.Join(dir, "in"), filepath.Join(dir, "pcln"), filepath.Join(dir, "out")
	if os.WriteFile(in, data, 0o755) != nil || os.WriteFile(pcln, pclnSeed(), 0o644) != nil {
		return nil
	}
	if exec.Command("objcopy", "--strip-all", "--add-section", ".gopclntab="+pcln,
		"--set-section-flags", ".gopclntab=alloc,readonly", in, out).Run() != nil {
		return nil
	}
	data, _ = os.ReadFile(out)
	return data
}
