package rebuild

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/internal/panics"
)

// NewImage assembles a one-layer image from scratch with the original
// config: platform, creation time, author and the whole runtime config
// (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, Volumes, Labels,
// StopSignal, Healthcheck, Shell, ...), plus the label LabelSource=sourceID.
// The history has one entry. Equal inputs give an equal image ID.
func NewImage(orig *v1.ConfigFile, sourceID, sourceRef string, layer v1.Layer) (v1.Image, error) {
	if orig == nil {
		orig = &v1.ConfigFile{OS: "linux", Architecture: "amd64"}
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	base, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	cf := base.DeepCopy()
	o := orig.DeepCopy()
	cf.Architecture, cf.OS, cf.OSVersion, cf.Variant, cf.OSFeatures = o.Architecture, o.OS, o.OSVersion, o.Variant, o.OSFeatures
	cf.Author = o.Author
	cf.Created = o.Created
	cf.Config = o.Config
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	cf.Config.Labels[LabelSource] = sourceID
	cf.Container, cf.DockerVersion = "", ""
	cf.History = []v1.History{{
		Created:   o.Created,
		CreatedBy: "whittle: minimal rebuild of " + sourceRef,
		Comment:   "files kept: see the why report",
	}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("assembling image: %w", err)
	}
	return img, nil
}

// WriteLayout writes img as an OCI image layout at dir, with OCI media
// types (the config, hence the image ID, is unchanged) and annotated with
// ref ("org.opencontainers.image.ref.name" = its tag, as skopeo's
// oci:DIR:TAG expects, and "io.containerd.image.name" = the full name). An
// existing layout at dir is replaced; any other existing content is an error.
func WriteLayout(dir string, ref name.Tag, img v1.Image) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
			return fmt.Errorf("writing OCI layout: %s exists and is not an OCI layout", dir)
		}
	}
	oci, err := toOCI(img)
	if err != nil {
		return fmt.Errorf("writing OCI layout: %w", err)
	}
	// The layout is written whole beside dir and takes its place at the
	// end: an interrupted write never leaves a layout that is half there.
	err = atomicfile.WriteDir(dir, func(tmp string) error {
		p, err := layout.Write(tmp, empty.Index)
		if err != nil {
			return err
		}
		return p.AppendImage(oci, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": ref.TagStr(),
			"io.containerd.image.name":          ref.Name(),
		}))
	})
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return nil
}

// toOCI rebuilds img with OCI media types: manifest, config and layers.
func toOCI(img v1.Image) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		switch mt {
		case types.DockerUncompressedLayer:
			mt = types.OCIUncompressedLayer
		case types.DockerLayer:
			mt = types.OCILayer
		}
		if base, err = mutate.Append(base, mutate.Addendum{Layer: l, MediaType: mt}); err != nil {
			return nil, err
		}
	}
	return mutate.ConfigFile(base, cf)
}

// LoadImage streams img as a docker-archive tagged ref into the engine.
func LoadImage(ctx context.Context, cli client.ImageAPIClient, ref name.Tag, img v1.Image) error {
	pr, pw := io.Pipe()
	var panicked atomic.Pointer[panics.Panic]
	go func() {
		// A panic while writing becomes LoadImage's error, not the process's end.
		defer panics.Catch("rebuild: image writer", func(p *panics.Panic) {
			panicked.Store(p)
			pw.CloseWithError(p)
		})
		pw.CloseWithError(tarball.Write(ref, img, pw))
	}()
	err := load(ctx, cli, pr)
	_ = pr.CloseWithError(errors.New("load finished"))
	if p := panicked.Load(); p != nil {
		return p
	}
	return err
}

// WriteArchive writes img as a docker-archive tarball (docker load format)
// tagged ref at file.
func WriteArchive(file string, ref name.Tag, img v1.Image) error {
	err := atomicfile.Write(file, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := tarball.Write(ref, img, bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing archive: %w", err)
	}
	return nil
}

// LoadArchive loads a docker-archive tarball into the engine.
func LoadArchive(ctx context.Context, cli client.ImageAPIClient, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("loading archive: %w", err)
	}
	defer f.Close()
	return load(ctx, cli, f)
}

func load(ctx context.Context, cli client.ImageAPIClient, r io.Reader) error {
	resp, err := cli.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrLoad, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%w: reading answer: %v", ErrLoad, err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return fmt.Errorf("%w: %s", ErrLoad, msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return fmt.Errorf("%w: %s", ErrLoad, msg.Error)
		}
	}
}
