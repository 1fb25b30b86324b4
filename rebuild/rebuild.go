// Package rebuild makes the minimal image: from the files a traced container
// used (and what they statically imply: symbolic links on their paths, ELF
// closures, interpreters, runtime heuristics, parent directories) it builds a
// one-layer image from scratch out of the pristine image's own filesystem,
// keeps the original config, loads it into the engine and says why every file
// is there.
package rebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/seccomp"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrImageNotFound = errors.New("image not found")
	ErrRelativePath  = errors.New("path is not absolute")
	ErrLoop          = errors.New("too many levels of symbolic links")
	ErrBadTag        = errors.New("invalid image tag")
	ErrLoad          = errors.New("engine refused the image")
)

// LabelSource is set on minimal images to the ID of the image they come from.
const LabelSource = "dev.whittle.source"

// Need is a path the minimal image must provide.
type Need struct {
	// Path is absolute inside the image, as the app requested it (it may
	// traverse symlinks, and may not exist in the image: then it is skipped
	// and reported, e.g. /proc/..., /etc/hosts mounts).
	Path string `json:"path"`
	// Reason says who needs it: "traced:open", "traced:exec", "traced:stat",
	// "input-selected:GET /breeds/{breed} param breed", ...
	Reason string `json:"reason"`
	// Whole keeps the directory at Path recursively (input-selected directories).
	Whole bool `json:"whole,omitempty"`
	// Note is set by Build on skipped needs: why the need was skipped.
	Note string `json:"note,omitempty"`
}

// KeptFile is one entry of the minimal image.
type KeptFile struct {
	Path     string      `json:"path"`
	Size     int64       `json:"size"`
	Mode     fs.FileMode `json:"mode"`
	Linkname string      `json:"linkname,omitempty"`
	Reasons  []string    `json:"reasons"`
}

// Timings measures the steps of Build.
type Timings struct {
	Export time.Duration `json:"export"`
	Select time.Duration `json:"select"`
	Layer  time.Duration `json:"layer"`
	Load   time.Duration `json:"load"`
}

// Result describes a minimal image built by Build.
type Result struct {
	Image        string `json:"image"`     // the original image reference
	SourceID     string `json:"source_id"` // the original image ID
	Tag          string `json:"tag"`       // the minimal image's tag
	ImageID      string `json:"image_id"`  // the minimal image's ID
	LayerDigest  string `json:"layer_digest"`
	OriginalSize int64  `json:"original_size"` // as the engine reports them
	Size         int64  `json:"size"`
	// Files are the entries of the minimal image, sorted by path.
	Files []KeptFile `json:"files"`
	// Skipped are the needs not present in the image, with Note saying why.
	Skipped []Need `json:"skipped,omitempty"`
	// Excluded are paths that WithExclude dropped.
	Excluded []string `json:"excluded,omitempty"`
	// MountExcluded are paths the container used beneath a mount point of
	// the run (WithRunConfig), left out of the minimal image.
	MountExcluded []string `json:"mount_excluded,omitempty"`
	// Baked is set when the run's settings were written into the minimal
	// image's config (WithRunConfig with bake).
	Baked bool `json:"baked,omitempty"`
	// Warnings: unresolved libraries, symlink loops, unreadable ELF files.
	Warnings []string `json:"warnings,omitempty"`
	// ByReason totals the bytes of regular files by the kind of their first
	// reason ("traced", "elf", "symlink", "python", ...): each file counts once.
	ByReason map[string]int64 `json:"by_reason"`
	// Totals count files and bytes by the kind of their first reason.
	Totals map[string]ReasonTotal `json:"totals"`
	// Heuristics reports each heuristic: on or off, its evidence, what it kept.
	Heuristics []HeuristicReport `json:"heuristics"`
	// Replaced is the ID of the previous minimal image under the same tag,
	// removed because nothing else used it.
	Replaced string `json:"replaced,omitempty"`
	// Archive, Layout and Seccomp are the docker-archive, the OCI image
	// layout and the seccomp profile written under WithOutputDir, if any.
	Archive string `json:"archive,omitempty"`
	Layout  string `json:"layout,omitempty"`
	Seccomp string `json:"seccomp,omitempty"`
	// Syscalls are the calls the seccomp profile allows (WithSyscalls).
	Syscalls []string `json:"syscalls,omitempty"`
	Timings  Timings  `json:"timings"`
}

// Build makes the minimal image of image for needs: exports the pristine
// filesystem (or uses WithImageFS), selects the files with their reasons,
// writes one deterministic uncompressed layer, assembles an image from
// scratch with the original config (plus the LabelSource label), loads it
// into the engine under the tag and inspects it.
func Build(ctx context.Context, cli client.APIClient, image string, needs []Need, opts ...Option) (*Result, error) {
	cfg := newConfig(opts)
	tag := cfg.tag
	if tag == "" {
		tag = DefaultTag(image)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadTag, tag, err)
	}
	res := &Result{Image: image, Tag: tag}

	t0 := time.Now()
	fsys := cfg.fsys
	if fsys == nil {
		cfg.step("export", 0, 0)
		if fsys, err = ExportImage(ctx, cli, image, WithWorkDir(cfg.workDir)); err != nil {
			return nil, err
		}
		defer fsys.Close()
	}
	res.Timings.Export = time.Since(t0)
	res.SourceID, res.OriginalSize = fsys.ID, fsys.Size

	t0 = time.Now()
	cfg.step("select", 0, int64(len(needs)))
	plan := selectFiles(fsys, needs, cfg)
	res.Files, res.Skipped, res.Excluded, res.Warnings, res.ByReason = plan.Files, plan.Skipped, plan.Excluded, plan.Warnings, plan.ByReason
	res.Totals, res.Heuristics, res.MountExcluded = plan.Totals, plan.Heuristics, plan.MountExcluded
	res.Timings.Select = time.Since(t0)

	t0 = time.Now()
	cfg.step("layer", 0, int64(len(plan.Files)))
	layer, err := writeLayerFile(fsys, plan.Files, cfg.workDir)
	if err != nil {
		return nil, err
	}
	defer layer.remove()
	res.LayerDigest = layer.diffID.String()
	imgConfig := fsys.Config
	if cfg.bake && imgConfig != nil {
		imgConfig = imgConfig.DeepCopy()
		bakeConfig(imgConfig, cfg.run)
		res.Baked = true
	}
	img, err := NewImage(imgConfig, fsys.ID, image, layer)
	if err != nil {
		return nil, err
	}
	res.Timings.Layer = time.Since(t0)

	t0 = time.Now()
	cfg.step("load", 0, layer.size)
	previous := previousMinimal(ctx, cli, tag)
	if cfg.outputDir != "" {
		if err := os.MkdirAll(cfg.outputDir, 0o755); err != nil {
			return nil, fmt.Errorf("creating output directory: %w", err)
		}
		res.Archive = filepath.Join(cfg.outputDir, archiveName(tag)+".tar")
		if err := WriteArchive(res.Archive, ref, img); err != nil {
			return nil, err
		}
		if err := LoadArchive(ctx, cli, res.Archive); err != nil {
			return nil, err
		}
	} else if err := LoadImage(ctx, cli, ref, img); err != nil {
		return nil, err
	}
	insp, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		return nil, fmt.Errorf("inspecting minimal image %s: %w", tag, err)
	}
	res.ImageID, res.Size = insp.ID, insp.Size
	if previous != "" && previous != insp.ID {
		if err := removeUnused(ctx, cli, previous); err != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("previous minimal image %s kept: %v", shortID(previous), err))
		} else {
			res.Replaced = previous
		}
	}
	res.Timings.Load = time.Since(t0)
	cfg.step("done", 1, 1)

	if cfg.syscalls != nil {
		p, dropped := seccomp.Generate(cfg.syscalls)
		res.Syscalls = p.Allowed()
		for _, d := range dropped {
			res.Warnings = append(res.Warnings, fmt.Sprintf("seccomp: system call %q cannot be named in a profile: left out", d))
		}
		if cfg.outputDir != "" {
			b, err := p.JSON()
			if err == nil {
				res.Seccomp = filepath.Join(cfg.outputDir, "seccomp.json")
				err = atomicfile.WriteFile(res.Seccomp, b)
			}
			if err != nil {
				return res, fmt.Errorf("writing seccomp profile: %w", err)
			}
		}
	}
	if cfg.outputDir != "" {
		res.Layout = filepath.Join(cfg.outputDir, archiveName(tag)+".oci")
		if err := WriteLayout(res.Layout, ref, img); err != nil {
			return res, err
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = atomicfile.WriteFile(filepath.Join(cfg.outputDir, "why.json"), append(b, '\n'))
		}
		if err != nil {
			return res, fmt.Errorf("writing why report: %w", err)
		}
	}
	return res, nil
}

// previousMinimal returns the ID of the image tag names when it is a
// minimal image (it carries LabelSource), or "".
func previousMinimal(ctx context.Context, cli client.APIClient, tag string) string {
	insp, err := cli.ImageInspect(ctx, tag)
	if err != nil || insp.Config == nil || insp.Config.Labels[LabelSource] == "" {
		return ""
	}
	return insp.ID
}

// removeUnused removes image id unless a container (running or not) uses
// it; the engine also refuses when another tag still names it.
func removeUnused(ctx context.Context, cli client.APIClient, id string) error {
	used, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("ancestor", id))})
	if err != nil {
		return fmt.Errorf("listing its containers: %w", err)
	}
	if len(used) > 0 {
		return fmt.Errorf("container %s uses it", shortID(used[0].ID))
	}
	if _, err := cli.ImageRemove(ctx, id, image.RemoveOptions{PruneChildren: true}); err != nil {
		return err
	}
	return nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func archiveName(tag string) string { return unsafeName.ReplaceAllString(tag, "_") }

// DefaultTag names the minimal image of image: "repo:tag" -> "repo:tag-whittled",
// no tag -> "repo:latest-whittled", "repo@sha256:..." -> "repo:whittled",
// an image ID -> "whittled:<first 12 hex digits>".
func DefaultTag(image string) string {
	const suffix = "-whittled"
	if hex, ok := strings.CutPrefix(image, "sha256:"); ok {
		if len(hex) > 12 {
			hex = hex[:12]
		}
		return "whittled:" + hex
	}
	repo, tag := image, ""
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		return repo[:i] + ":whittled"
	}
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo, tag = repo[:i], repo[i+1:]
	}
	if tag == "" {
		tag = "latest"
	}
	if len(tag)+len(suffix) > 128 {
		tag = tag[:128-len(suffix)]
	}
	return repo + ":" + tag + suffix
}
