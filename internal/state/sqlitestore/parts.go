package sqlitestore

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// PartOpener returns the state.PartOpener of the recovery directory dir: the way one
// process of a cluster run finds, creates and opens its share of the directory's
// partitions. The processes of one machine may share dir; see the package doc.
func PartOpener(dir string) state.PartOpener { return partOpener{dir} }

type partOpener struct{ dir string }

func (o partOpener) Dir() string { return o.dir }

// Scan lists the partition files of the directory with the count each was made for,
// read from its meta table, and the file's identity (see fileID). It takes no lock and
// changes no file, so that every process of a cluster can scan a shared directory at
// once; it reads no more of a file than its meta table, leaving the file's checks to the
// process that opens it. A file whose meta table cannot be read fails it as Open would
// (*CorruptError, *FormatError, *AccessError). A directory with a partition still marked
// as being made (see initMarker) is listed as empty: its making was cut short, so that no
// run has used it, and the processes make it again (Create keeps the partitions made
// whole).
func (o partOpener) Scan() ([]state.Found, error) {
	idx, err := listPartitions(o.dir)
	if err != nil {
		return nil, err
	}
	if marked, _ := filepath.Glob(filepath.Join(o.dir, "part-*.sqlite3.init")); len(marked) > 0 {
		return nil, nil
	}
	found := make([]state.Found, 0, len(idx))
	for _, i := range idx {
		path := state.PartitionPath(o.dir, i)
		n, err := scanCount(path, i)
		if err != nil {
			return nil, classify(o.dir, i, err, true)
		}
		id, err := fileID(path)
		if err != nil {
			return nil, fmt.Errorf("weir: recovery directory %s: partition %d: %w", o.dir, i, err)
		}
		found = append(found, state.Found{Index: i, Count: n, ID: id})
	}
	return found, nil
}

// scanCount reads the partition count partition i at path was made for. A file no one has
// open (it has no write-ahead log, which SQLite removes with the last connection) is read
// as immutable, so that SQLite makes no -wal and -shm files beside it; a file in use is
// read as a reader beside its writer.
func scanCount(path string, i int) (int, error) {
	mode := immutable
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		mode = readOnly
	}
	n, err := readCount(path, i, mode)
	if mode == readOnly && isAccess(err) {
		n, err = readCount(path, i, immutable)
	}
	return n, err
}

func readCount(path string, i int, mode openMode) (int, error) {
	db, err := openDB(path, mode)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return checkMeta(db, i)
}

func (o partOpener) Create(count int, which []int) error { return Create(o.dir, count, which) }

func (o partOpener) Open(count int, held []int) (state.Parts, error) {
	s, err := OpenParts(o.dir, count, held)
	if err != nil {
		return nil, err // not a nil *Store in a non-nil interface
	}
	return s, nil
}

// partitionList checks that the partitions ps are of a directory of count partitions and
// returns them ascending, once each.
func partitionList(dir string, count int, ps []int) ([]int, error) {
	if err := checkCount(dir, count); err != nil {
		return nil, err
	}
	ps = slices.Compact(slices.Sorted(slices.Values(ps)))
	for _, p := range ps {
		if p < 0 || p >= count {
			return nil, fmt.Errorf("weir: recovery directory %s: no partition %d in a directory of %d", dir, p, count)
		}
	}
	return ps, nil
}

// Create makes the partitions which, those absent from dir, of a recovery directory of
// count partitions, creating dir if needed. It holds the directory's lock shared and each
// absent partition's lock meanwhile, as a cluster's process does (see OpenParts), so
// that the processes sharing dir can each create their share at once while a single run
// cannot be making the directory. On failure it leaves none of the partitions it made.
func Create(dir string, count int, which []int) error {
	which, err := partitionList(dir, count, which)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if isAccess(err) {
			return &state.AccessError{Dir: dir, Partition: -1, Cause: err}
		}
		return fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	// A partition still marked as being made (see initMarker) is absent: a process was
	// killed making it.
	absent := func() ([]int, error) {
		found, err := listPartitions(dir)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(slices.Clone(which), func(p int) bool {
			_, ok := slices.BinarySearch(found, p)
			_, err := os.Stat(initMarker(dir, p))
			return ok && err != nil
		}), nil
	}
	todo, err := absent()
	if err != nil || len(todo) == 0 {
		return err
	}
	locks, err := lockParts(dir, todo)
	if err != nil {
		return err
	}
	defer unlockAll(locks)
	if _, _, err := interrupted(dir, todo); err != nil {
		return err
	}
	if todo, err = absent(); err != nil { // made by another process before we locked
		return err
	}
	return createPartitions(dir, count, todo)
}

// lockParts takes dir's lock shared, then the lock of each partition of ps: the first
// lock returned is the directory's.
func lockParts(dir string, ps []int) ([]*dirLock, error) {
	shared, err := lockShared(dir)
	if err != nil {
		return nil, err
	}
	locks := []*dirLock{shared}
	for _, p := range ps {
		l, err := lockPartition(dir, p)
		if err != nil {
			unlockAll(locks)
			return nil, err
		}
		locks = append(locks, l)
	}
	return locks, nil
}

// unlockAll releases locks, the directory's (first) last.
func unlockAll(locks []*dirLock) error {
	var err error
	for i := len(locks) - 1; i >= 0; i-- {
		if uerr := locks[i].unlock(); err == nil {
			err = uerr
		}
	}
	return err
}

// OpenParts opens the partitions held of the recovery directory dir, of count partitions,
// for one process of a cluster run, and checks them as Open does. It holds the
// directory's lock shared and each held partition's lock (state.PartitionLockPath)
// exclusively until Close: the processes of a cluster can share dir, a single run (which
// holds the directory's lock exclusively) and a cluster refuse each other, and two
// clusters refuse each other on their partitions, with a *LockedError naming the
// partition. The partitions not held are not read, nor locked; with none held, nothing
// is (dir need not exist). It fails with *MissingPartitionsError, *CorruptError (also for
// a held partition of another count, or of another origin than the others held),
// *FormatError, *AccessError or *LockedError.
//
// The store returned writes and reads the held partitions only (see state.Parts); its
// Begin works only when it holds every partition, and otherwise BeginAt plans.
func OpenParts(dir string, count int, held []int) (*Store, error) {
	held, err := partitionList(dir, count, held)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, now: time.Now, sem: newSem(), wrote: make(chan struct{}, 1), started: make(chan struct{}), cluster: true,
		parts: make([]*sql.DB, count), held: held, ids: make([]stepIDs, count)}
	if len(held) == 0 {
		return s, nil
	}
	found, err := listPartitions(dir)
	if err != nil {
		return nil, err
	}
	var missing []int
	for _, p := range held {
		if _, ok := slices.BinarySearch(found, p); !ok {
			missing = append(missing, p)
		}
	}
	if missing != nil {
		return nil, &state.MissingPartitionsError{Dir: dir, Missing: missing, Count: count}
	}
	locks, err := lockParts(dir, held)
	if err != nil {
		return nil, err
	}
	s.lock, s.plocks = locks[0], locks[1:]
	for _, p := range held {
		db, n, err := openPartition(state.PartitionPath(dir, p), p, false)
		if err == nil && n != count {
			db.Close()
			err = &state.CorruptError{Dir: dir, Partition: p, Cause: fmt.Errorf("it belongs to a directory of %d partitions, this one has %d", n, count)}
		} else if err != nil {
			err = classify(dir, p, err, true)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.parts[p] = db
	}
	// The held partitions must share an origin, where they have one (see origin.go);
	// those of other processes are not read.
	dbs := make(map[int]*sql.DB, len(held))
	for _, p := range held {
		dbs[p] = s.parts[p]
	}
	if _, err := checkOrigins(dir, dbs); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Count implements state.Parts: the partitions of the whole directory.
func (s *Store) Count() int { return len(s.parts) }

// Held implements state.Parts: the partitions this store has open, ascending (all of
// them unless opened by OpenParts).
func (s *Store) Held() []int { return slices.Clone(s.held) }
