package rebuild

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestJVMVariants(t *testing.T) {
	cfg := "# List of JVMs\n-server KNOWN\n-client IGNORE\n-zero KNOWN extra\n-../x KNOWN\n- KNOWN\nserver KNOWN\n"
	if got, want := jvmVariants([]byte(cfg)), []string{"server", "zero"}; !slices.Equal(got, want) {
		t.Errorf("jvmVariants = %q, want %q", got, want)
	}
}

func FuzzJVMVariants(f *testing.F) {
	f.Add([]byte("-server KNOWN\n-client IGNORE\n"))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		for _, vm := range jvmVariants(cfg) {
			if vm == "" || filepath.Base(vm) != vm || vm == ".." {
				t.Fatalf("variant %q is no directory name", vm)
			}
		}
	})
}

// A JDK's libjava.so needs libjvm.so, which only the launcher's jvm.cfg
// says where to find (lib/server): the closure finds it there.
func TestClosureFindsLibjvmThroughJvmCfg(t *testing.T) {
	const jdk = "/usr/lib/jvm/java-17-openjdk-amd64"
	for _, p := range []string{"lib/libjava.so", "lib/server/libjvm.so", "lib/jvm.cfg"} {
		if _, err := os.Stat(filepath.Join(jdk, p)); err != nil {
			t.Skipf("SKIP: no OpenJDK 17 on this machine (%v)", err)
		}
	}
	root := mergedUsrRoot(t, "/usr/bin/true")
	for _, p := range []string{"lib/libjava.so", "lib/libverify.so", "lib/libjimage.so", "lib/server/libjvm.so", "lib/jvm.cfg"} {
		if _, err := os.Stat(filepath.Join(jdk, p)); err == nil {
			copyHostFile(t, filepath.Join(jdk, p), filepath.Join(root, jdk, p))
		}
	}
	for _, lib := range []string{"libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libc.so.6", "libz.so.1"} {
		if p := "/usr/lib/x86_64-linux-gnu/" + lib; fileExists(p) {
			copyLib(t, root, "usr/lib/x86_64-linux-gnu", p)
		}
	}
	deps, err := NewLoader(openDir(t, root), nil).Closure(jdk + "/lib/libjava.so")
	if err != nil {
		t.Fatal(err)
	}
	got := depsByName(deps)["libjvm.so"]
	if got.Path != jdk+"/lib/server/libjvm.so" || got.Via != "jvm.cfg" {
		t.Fatalf("libjvm.so = %+v, want lib/server/libjvm.so via jvm.cfg", got)
	}
	// Without the launcher's jvm.cfg the need stays unresolved (reported).
	if err := os.Remove(filepath.Join(root, jdk, "lib/jvm.cfg")); err != nil {
		t.Fatal(err)
	}
	deps, _ = NewLoader(openDir(t, root), nil).Closure(jdk + "/lib/libjava.so")
	if d := depsByName(deps)["libjvm.so"]; d.Path != "" {
		t.Errorf("libjvm.so resolved without jvm.cfg: %+v", d)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
