package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/whittle-dev/whittle/corpus"
	"github.com/whittle-dev/whittle/probe"
)

// newBuildCommand builds the minimal image from a corpus without fuzzing:
// the one build after a campaign's shards were merged.
func newBuildCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "build CORPUS [IMAGE]",
		Short: "Build and verify the minimal image from a corpus, without fuzzing (after merging a campaign's shards)",
		Long: "build replays the corpus on the traced original image (IMAGE, by default the one the corpus\n" +
			"was recorded on), builds the minimal image from what that used (and the directories the\n" +
			"fuzzing runs found selected by request values), and verifies it answers the corpus as the\n" +
			"original does, as `run` does after fuzzing. The spec is the one the corpus records; the\n" +
			"report carries the corpus's findings, so --fail-on judges the whole campaign.",
		Example: "  whittle corpus merge corpus/ shard-1/ shard-2/ shard-3/ shard-4/\n" +
			"  whittle build corpus/ --auto -o json=whittle.json -o sarif=whittle.sarif --fail-on high",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.cfg.CorpusDir, f.cfg.FromCorpus = args[0], true
			if len(args) == 2 {
				f.cfg.Image = args[1]
			} else if f.cfg.Compose == "" {
				img, err := originalImage(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				f.cfg.Image = img
			}
			return f.execute(cmd)
		},
	}
	fl := cmd.Flags()
	f.addTargetFlags(fl)
	f.addComposeFlags(fl)
	f.addImageFlags(fl)
	f.addOutputFlags(fl)
	setGroupedHelp(cmd, helpFooter{exitCodes: []int{exitOK, exitError, exitFindings, exitDiverged, exitInterrupted}, needs: needsTracing})
	return cmd
}

// originalImage is the image a corpus was recorded on, by the name the
// recording run gave it, if that name still is that image.
func originalImage(ctx context.Context, dir string) (string, error) {
	st, err := corpus.Load(dir)
	if err != nil {
		return "", err
	}
	m := st.Meta()
	if m.ImageRef == "" || m.ImageID == "" {
		return "", fmt.Errorf("corpus %s does not name its original image (an older whittle wrote it): name the image to build from, whittle build %s IMAGE", dir, dir)
	}
	eng, err := probe.Connect(ctx)
	if err != nil {
		return "", err
	}
	defer eng.Close()
	img, err := eng.Inspect(ctx, m.ImageRef)
	switch {
	case errors.Is(err, probe.ErrImageNotFound):
		return "", fmt.Errorf("the original image of corpus %s, %s, is not in this engine: load it (docker load), or name the image to build from, whittle build %s IMAGE", dir, originalImageName(m), dir)
	case err != nil:
		return "", err
	case img.ID != m.ImageID:
		return "", fmt.Errorf("corpus %s was recorded on %s, but %s is now %s (rebuilt?): load the original (docker load), or name the image to build from, whittle build %s %s", dir, originalImageName(m), m.ImageRef, short12(strings.TrimPrefix(img.ID, "sha256:")), dir, m.ImageRef)
	}
	return m.ImageRef, nil
}
