package procfs

import (
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/testimage"
)

// byName is how container files were read before Root: the path resolved
// in user space under /proc/PID/root, then opened by name, so that the
// kernel resolves each component again, in whittle's own root.
func byName(root, p string) ([]byte, error) {
	out := "/"
	for _, c := range SplitPath(p) {
		next := path.Join(out, c)
		if fi, err := os.Lstat(root + next); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if target, err := os.Readlink(root + next); err == nil {
				if strings.HasPrefix(target, "/") {
					next = target
				} else {
					next = path.Join(out, target)
				}
			}
		}
		out = next
	}
	return os.ReadFile(root + out)
}

// A container swaps a path component for an absolute link to a host
// directory while whittle reads through it: Root never reads the host's
// file, where reading by name (as before) does.
func TestRootAgainstASwappingContainer(t *testing.T) {
	pid, _ := testimage.Swapping(t, "testdata/swap/main.go")
	for _, mode := range []string{"openat2", "walk"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "openat2" && InRoot() != nil {
				t.Skipf("SKIP: %v", InRoot())
			}
			forceWalk = mode == "walk"
			defer func() { forceWalk = false }()
			root, err := Host.OpenRoot(uint32(pid))
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			seen := map[string]int{}
			hostByName := 0
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; time.Now().Before(deadline) && (i < 20000 || hostByName == 0); i++ {
				if f, err := root.Open("/probe/secret"); err != nil {
					seen["error"]++
				} else {
					b := make([]byte, 64)
					n, _ := f.Read(b)
					f.Close()
					seen[string(b[:n])]++
				}
				if r := root.Resolve("/probe/secret"); r != "/probe/secret" && !strings.HasSuffix(r, "/secret") {
					t.Fatalf("Resolve = %q", r)
				}
				if b, err := byName(Host.Root(uint32(pid)), "/probe/secret"); err == nil && string(b) == "HOST" {
					hostByName++
				}
			}
			t.Logf("Root.Open read %v; reading by name read the host's file %d times", seen, hostByName)
			if seen["HOST"] > 0 {
				t.Fatalf("Root.Open read the host's file %d times", seen["HOST"])
			}
			if seen["dir-in-container"] == 0 || seen["link-in-container"] == 0 {
				t.Errorf("the container's two forms were not both read (%v): was it swapping?", seen)
			}
			if hostByName == 0 {
				t.Errorf("reading by name never reached the host's file in 10 s: the race this test guards against was not reproduced")
			}
		})
	}
}
