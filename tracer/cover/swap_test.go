package cover

import (
	"io"
	"testing"
	"time"

	"github.com/whittle-dev/whittle/internal/testimage"
	"github.com/whittle-dev/whittle/tracer/internal/procfs"
)

// The file coverage attaches probes to is opened inside the container's
// root: a container swapping a component of its path for a link to a host
// directory never gets whittle to open the host's file.
func TestCoveredFileIsTheContainers(t *testing.T) {
	pid, _ := testimage.Swapping(t, "../internal/procfs/testdata/swap/main.go")
	seen := map[string]int{}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 5000 && time.Now().Before(deadline); i++ {
		tg, err := openTarget(procfs.Host, pid, "/probe/secret")
		if err != nil {
			seen["error"]++
			continue
		}
		b, _ := io.ReadAll(tg.file)
		tg.close()
		tg.unpin()
		seen[string(b)]++
	}
	t.Logf("opened %v", seen)
	if seen["HOST"] > 0 {
		t.Fatalf("coverage opened the host's file %d times", seen["HOST"])
	}
	if seen["dir-in-container"] == 0 {
		t.Errorf("the container's file was never opened (%v)", seen)
	}
}
