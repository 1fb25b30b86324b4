package pipeline

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/whittle-dev/whittle/internal/faults"
	"github.com/whittle-dev/whittle/internal/panics"
	"github.com/whittle-dev/whittle/probe"
	"github.com/whittle-dev/whittle/rebuild"
)

// imageExport is the original image's pristine filesystem, exported in the
// background while the target starts and runs.
type imageExport struct {
	done   chan struct{}
	cancel context.CancelFunc
	fs     *rebuild.ImageFS
	err    error
	once   sync.Once
}

func startExport(ctx context.Context, engine *probe.Engine, ref string, fail func(*panics.Panic)) *imageExport {
	ctx, cancel := context.WithCancel(ctx)
	e := &imageExport{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(e.done)
		defer panics.Catch(string(faults.ImageExport), func(p *panics.Panic) {
			e.err = p
			fail(p)
		})
		_ = faults.At(faults.ImageExport)
		e.fs, e.err = rebuild.ExportImage(ctx, engine.Client(), ref)
		if e.err != nil {
			e.err = fmt.Errorf("exporting the filesystem of %s: %w", ref, e.err)
		}
	}()
	return e
}

// wait returns the exported filesystem once it is ready.
func (e *imageExport) wait(ctx context.Context) (*rebuild.ImageFS, error) {
	select {
	case <-e.done:
		return e.fs, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Ready reports whether the filesystem is exported (or failed to): ListDir
// will not wait.
func (e *imageExport) Ready() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// ListDir lists a directory of the original image (inputsel.DirLister): names the
// fuzzer can try where a request value selects files.
func (e *imageExport) ListDir(ctx context.Context, dir string) ([]string, error) {
	fsys, err := e.wait(ctx)
	if err != nil {
		return nil, err
	}
	return fsys.ReadDir(path.Clean(dir)), nil
}

func (e *imageExport) close() {
	e.once.Do(func() {
		e.cancel()
		<-e.done
		if e.fs != nil {
			e.fs.Close()
		}
	})
}
