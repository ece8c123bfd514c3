package files

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"github.com/weirflow/weir/source"
)

// ErrNotDir is the error of a directory source whose dir is not a directory.
var ErrNotDir = errors.New("not a directory")

// DirSource is a source of the lines of the files of a directory; see NewDirSource.
type DirSource struct {
	dir, glob string
	batch     int
}

// NewDirSource returns a source of the lines of every regular file in dir whose path
// relative to dir matches glob (path.Match syntax, so "*.log" or "2026-*/*.csv";
// "*" does not cross a "/"). Lines are read as by NewLineSource.
//
// It has one partition per matching file, named by the file's path relative to dir with
// "/" separators, so the files are read in parallel across workers, each from start to
// end. Each partition resumes from the byte offset after its last line read. The files are
// listed when the run starts: a file added later is read by the next run (from its start),
// and a listed file that disappears makes the run fail. A dir that is missing or is not
// a directory (ErrNotDir) fails the run when it starts, naming the step and dir; an
// empty directory, or one where nothing matches, is a stream with no items.
func NewDirSource(dir, glob string) *DirSource {
	return &DirSource{dir: dir, glob: glob, batch: DefaultBatchSize}
}

// BatchSize sets the largest number of lines in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *DirSource) BatchSize(n int) *DirSource {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned.
func (s *DirSource) Partitions(context.Context) ([]string, error) {
	// A file where the directory should be would glob to nothing, and a run reading
	// nothing looks like a run over an empty directory: refuse it as a missing one.
	info, err := os.Stat(s.dir)
	if err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("weir: files: %s: %w", s.dir, ErrNotDir)
	}
	fsys := os.DirFS(s.dir)
	matches, err := fs.Glob(fsys, s.glob)
	if err != nil {
		return nil, fmt.Errorf("weir: files: glob %q: %w", s.glob, err)
	}
	names := matches[:0]
	for _, m := range matches {
		info, err := fs.Stat(fsys, m)
		if err != nil {
			return nil, fmt.Errorf("weir: files: %w", err)
		}
		if info.Mode().IsRegular() {
			names = append(names, m)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Build implements source.Source.
func (s *DirSource) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[string], error) {
	file, err := s.file(part)
	if err != nil {
		return nil, err
	}
	r, err := openLines(file, resume)
	if err != nil {
		return nil, err
	}
	return newLinePart(r, s.batch), nil
}

func (s *DirSource) file(part source.Part) (string, error) {
	// Only names that Partitions could have listed: a partition is never a path outside dir.
	if ok, _ := path.Match(s.glob, part.Partition); !ok || !fs.ValidPath(part.Partition) {
		return "", fmt.Errorf("weir: files: %s: unknown partition %q", s.dir, part.Partition)
	}
	return filepath.Join(s.dir, filepath.FromSlash(part.Partition)), nil
}

func (s *DirSource) batchSize() int { return s.batch }
