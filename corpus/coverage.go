package corpus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/whittle-dev/whittle/internal/atomicfile"
	"github.com/whittle-dev/whittle/report/covdata"
)

// coverageFile holds the code coverage of the runs that filled the corpus,
// function by function (FORMAT.md), merged across resumed runs and merged
// corpora: the shards of a campaign together reached what it says.
const (
	coverageFile   = "coverage.json"
	formatCoverage = "whittle-corpus-coverage"
)

// Coverage returns the code coverage stored in the corpus, nil when none
// was stored.
func (s *Store) Coverage() (*covdata.Coverage, error) {
	return LoadCoverage(s.dir)
}

// LoadCoverage reads the code coverage stored in the corpus directory dir
// (nil when there is none), without opening the corpus.
func LoadCoverage(dir string) (*covdata.Coverage, error) {
	path := filepath.Join(dir, coverageFile)
	data, err := readCapped(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	raw, err := open(data, formatCoverage)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var c covdata.Coverage
	if err := c.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, corrupt("%v", err))
	}
	return &c, nil
}

// AddCoverage merges c into the corpus's coverage (covdata.Merge) and
// writes it atomically. A corrupt stored coverage is replaced, with a
// warning.
func (s *Store) AddCoverage(c *covdata.Coverage) error {
	if c == nil {
		return nil
	}
	if s.readOnly {
		return fmt.Errorf("storing coverage in %s: %w", s.dir, ErrReadOnly)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := LoadCoverage(s.dir)
	if err != nil {
		s.warnings = append(s.warnings, fmt.Sprintf("%v; replaced by this run's coverage", err))
		old = nil
	}
	data, err := seal(formatCoverage, covdata.Merge(old, c))
	if err != nil {
		return fmt.Errorf("encoding coverage: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(s.dir, coverageFile), data); err != nil {
		return fmt.Errorf("writing coverage: %w", err)
	}
	return nil
}

// mergeCoverage adds src's stored coverage to s's (Merge).
func (s *Store) mergeCoverage(src *Store) (bool, error) {
	c, err := src.Coverage()
	if err != nil {
		return false, err
	}
	if c == nil {
		return false, nil
	}
	return true, s.AddCoverage(c)
}
