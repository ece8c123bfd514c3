package sqlitestore

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// Layout of a recovery directory: N SQLite files part-<i>.sqlite3 (i from 0).
//
// Every partition carries the full executions and frontiers tables: a worker's Write puts
// its rows for partition p and its new frontier in one transaction on p. A worker's
// frontier in p therefore says exactly what p holds, and the frontier the store can trust
// is the minimum over partitions. That also makes a partition replaced by an older copy
// detectable: its frontiers fall below the resume epoch the others' last execution already
// started from (see InconsistentError).
//
// The state of (step, key) goes to partition state.PartitionOf(step, key, N), the stable
// hash of step, a zero byte and key modulo N, in two tables. snapshots holds it as of each
// recent epoch, NULL for a deletion. It has no key but its rowid, so that a write only
// appends: a table keyed by (step, key, epoch) split pages all over itself on every write
// of many keys, and made writes several times slower. Rowid order is epoch order for each
// key: a key's rows come from the worker that owns it, epoch after epoch, and a new
// execution writes after every row the last one kept. compacted holds, per key, the latest
// state below the epoch up to which garbage collection has run (meta.collected):
// collecting moves rows from snapshots there. Step ids are interned in steps, per
// partition. commits records the wall time at which the store saw every worker complete
// everything below an epoch; garbage collection uses it to honour the backup interval. The
// processes of a cluster each keep a lock file, part-<i>.lock, beside each partition they
// hold (see the package doc).
//
// Every table has a crc column: the CRC-32C of the row (see sum.go), checked when the row
// is read.
const schema = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL, crc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE executions (
	number INTEGER PRIMARY KEY,
	workers INTEGER NOT NULL,
	resume INTEGER NOT NULL,
	began_at INTEGER NOT NULL,
	crc INTEGER NOT NULL
);
CREATE TABLE frontiers (
	execution INTEGER NOT NULL,
	worker INTEGER NOT NULL,
	epoch INTEGER NOT NULL,
	final INTEGER NOT NULL,
	crc INTEGER NOT NULL,
	PRIMARY KEY (execution, worker)
) WITHOUT ROWID;
CREATE TABLE steps (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, crc INTEGER NOT NULL);
CREATE TABLE snapshots (
	epoch INTEGER NOT NULL,
	step INTEGER NOT NULL,
	key TEXT NOT NULL,
	state BLOB,
	crc INTEGER NOT NULL
);
CREATE TABLE compacted (
	step INTEGER NOT NULL,
	key TEXT NOT NULL,
	epoch INTEGER NOT NULL,
	state BLOB,
	crc INTEGER NOT NULL,
	PRIMARY KEY (step, key)
) WITHOUT ROWID;
CREATE TABLE commits (epoch INTEGER PRIMARY KEY, at INTEGER NOT NULL, crc INTEGER NOT NULL);
`

var partName = regexp.MustCompile(`^part-(0|[1-9][0-9]*)\.sqlite3$`)

// openMode is how a partition file is opened.
type openMode int

const (
	readWrite openMode = iota
	readOnly
	// immutable reads a file in a directory no one can write, where SQLite cannot create
	// the shared-memory file a reader of a WAL database needs: nothing can change it.
	immutable
)

func dsn(path string, mode openMode) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	switch mode {
	case readOnly:
		return "file:" + esc + "?mode=ro&_pragma=busy_timeout(10000)"
	case immutable:
		return "file:" + esc + "?mode=ro&immutable=1"
	}
	// synchronous(FULL) makes a commit durable in WAL mode; _txlock=immediate takes the
	// write lock up front so concurrent writers queue instead of failing to upgrade.
	// A 64 MiB page cache (the default is 2 MiB) keeps the pages a write touches in memory.
	// Pages are read from the file mapped into memory (up to its first GiB), not copied
	// into the cache one allocation each: opening a directory of 1M keys (quick_check
	// reads every page) took 0.41-0.59 s of CPU, 0.15-0.20 s mapped, and closing it, which
	// freed the cache page by page, 0.28-0.40 s, 2 ms mapped. Writes still go through the
	// cache and the log. Only this run writes the file (the directory's lock), and nothing
	// shrinks it (no vacuum), so the mapping stays valid.
	return "file:" + esc + "?mode=rw" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-65536)&_pragma=mmap_size(1073741824)&_txlock=immediate"
}

func openDB(path string, mode openMode) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, mode))
	if err != nil {
		return nil, err
	}
	// One connection per file: SQLite has a single writer anyway, and the pool then
	// serializes workers' transactions on a partition instead of returning SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	return db, nil
}

// Init creates the recovery directory dir (if needed) with n empty partitions, holding
// the directory's lock meanwhile. It fails with ErrExists when dir holds partitions.
func Init(dir string, n int) error {
	if err := checkCount(dir, n); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	if err := exists(dir); err != nil { // before the lock: a run may hold it
		return err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if err := exists(dir); err != nil {
		return err
	}
	return initPartitions(dir, n)
}

func checkCount(dir string, n int) error {
	if n < 1 {
		return fmt.Errorf("weir: recovery directory %s: need at least 1 partition, got %d", dir, n)
	}
	return nil
}

// exists fails with ErrExists when dir holds partitions.
func exists(dir string) error {
	if found, err := listPartitions(dir); err != nil {
		return err
	} else if len(found) > 0 {
		return fmt.Errorf("%w: %s holds %d partition files", state.ErrExists, dir, len(found))
	}
	return nil
}

// initPartitions creates n partitions in dir, which holds none, or on failure none again:
// a half-made directory would be refused as missing partitions.
func initPartitions(dir string, n int) error {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return createPartitions(dir, n, all)
}

// createPartitions creates the partitions which, absent from dir, of a directory of n
// partitions, or on failure none of them. A process killed meanwhile cannot undo its
// work: each partition's marker (see initMarker), made before any partition and removed
// once the partition is whole, tells the next run what to make again.
func createPartitions(dir string, n int, which []int) error {
	created := make([]bool, len(which))
	for _, i := range which {
		if err := os.WriteFile(initMarker(dir, i), []byte(strconv.Itoa(n)), 0o644); err != nil {
			removeMarkers(dir, which)
			return fmt.Errorf("weir: recovery directory %s: partition %d: %w", dir, i, err)
		}
	}
	err := each(setupSem(), which, func(i int) error {
		path := state.PartitionPath(dir, i)
		k, _ := slices.BinarySearch(which, i)
		err := initPartition(path, i, n, func() { created[k] = true })
		if err == nil {
			err = os.Remove(initMarker(dir, i))
		}
		if err != nil {
			return fmt.Errorf("weir: recovery directory %s: partition %d: %w", dir, i, err)
		}
		return nil
	})
	if err == nil {
		// The new files and the markers' removal must reach the disk before any run writes
		// a partition: after a power loss, a marker back beside a partition a run has
		// written would have the next run make that partition again.
		if err = syncDir(dir); err != nil {
			err = fmt.Errorf("weir: recovery directory %s: %w", dir, err)
		}
	}
	if err != nil {
		for k, c := range created {
			if c {
				removePartition(dir, which[k])
			}
		}
		removeMarkers(dir, which)
	}
	return err
}

// initMarker is the file that marks partition i of dir as being made: a partition file
// beside it is half-made (or whole, but never used by a run), and a missing one was never
// begun.
func initMarker(dir string, i int) string { return state.PartitionPath(dir, i) + ".init" }

// syncDir makes dir's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func removeMarkers(dir string, which []int) {
	for _, i := range which {
		os.Remove(initMarker(dir, i))
	}
}

func removePartition(dir string, i int) {
	path := state.PartitionPath(dir, i)
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	os.Remove(path)
}

// interrupted returns the partitions of dir, among which (all when nil), that a process
// killed while it made them left marked, having removed what it made of them: they are to
// be made again, in a directory of count partitions (the largest a marker records; 0:
// none). The caller holds the locks that make the partitions its to make.
func interrupted(dir string, which []int) (ps []int, count int, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "part-*.sqlite3.init"))
	if err != nil {
		return nil, 0, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	for _, m := range paths {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "part-"), ".sqlite3.init"))
		if err != nil || initMarker(dir, i) != m || which != nil && !slices.Contains(which, i) {
			continue
		}
		if b, err := os.ReadFile(m); err == nil {
			if n, err := strconv.Atoi(string(b)); err == nil && n > i {
				count = max(count, n)
			}
		}
		removePartition(dir, i)
		if err := os.Remove(m); err != nil {
			return nil, 0, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
		}
		ps = append(ps, i)
	}
	slices.Sort(ps)
	return ps, count, nil
}

// initPartition creates partition i of n at path, calling created once the file is its.
func initPartition(path string, i, n int, created func()) error {
	// O_EXCL: two concurrent inits must not both think they created the store.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	created()
	f.Close()
	db, err := openDB(path, readWrite)
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(schema); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO meta (name, value, crc) VALUES ('format', ?, ?), ('partition', ?, ?), ('partitions', ?, ?)`,
		state.FormatVersion, sumMeta("format", state.FormatVersion), i, sumMeta("partition", int64(i)), n, sumMeta("partitions", int64(n))); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// noPartitions is the error of a directory without partitions, which says how to make
// them.
func noPartitions(dir string) error {
	why := "it holds no partition files"
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		why = "it does not exist"
	}
	return fmt.Errorf("%w in %s (%s): create them with  weir recovery init %s N  (N partitions, fixed for the directory's life)", state.ErrNoPartitions, dir, why, shellQuote(dir))
}

// shellQuote quotes path for a shell command line when it needs quoting.
func shellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

// listPartitions returns the partition indexes of the files in dir, ascending.
func listPartitions(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	var idx []int
	for _, e := range ents {
		if m := partName.FindStringSubmatch(e.Name()); m != nil {
			i, err := strconv.Atoi(m[1])
			if err == nil {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	return idx, nil
}

// Store is a state.Store in a recovery directory of SQLite partitions (see Init).
// It is safe for concurrent Writes by different workers.
type Store struct {
	dir   string
	parts []*sql.DB     // by partition; nil for those held by other processes of a cluster
	held  []int         // the partitions with a file open here, ascending
	ids   []stepIDs     // by partition
	sem   chan struct{} // bounds the partition transactions running at once
	// wrote holds a token once a Write has committed, for the collection CollectEvery
	// runs: it collects after each write when no backup interval holds rows back, but
	// not while writes are under way (writing counts them).
	wrote   chan struct{}
	writing atomic.Int32
	// lagging is the first partition the last background collection left as it was (it
	// gave way to a write or was stopped), where the next one begins; collected, when not
	// nil, is called after each partition a collection collected (a test's hook).
	lagging   atomic.Int64
	collected func(p int)
	// driverWrites makes writes go through database/sql (writeTx) as when a partition's
	// writer cannot be opened: tests compare the two.
	driverWrites bool
	now          func() time.Time // the clock for commit times and garbage collection
	lock         *dirLock         // nil when opened for reading
	plocks       []*dirLock       // the held partitions' locks, when opened by a PartOpener
	readOnly     bool
	// cluster is set when the store was opened by a PartOpener, for one process of a
	// cluster (see parts.go).
	cluster bool
	// origin is the directory's origin (see origin.go), 0 while it has none.
	origin int64

	mu        sync.Mutex
	execution int64 // current execution's number, 0 before Start
	pending   int64 // number of the execution Begin planned, 0 before Begin
	workers   int
	resume    uint64
	frontier  map[int]uint64 // current execution's workers, as written through this store
	final     map[int]bool   // current execution's workers that completed the stream
	started   chan struct{}  // closed by Start
	drop      []string       // steps whose state Start deletes
	// base is, for a cluster, the first epoch of each worker's latest Write: everything
	// below it is on every partition of the cluster (see clusterCommittedLocked).
	base map[int]uint64
	// rows holds, by worker, the row lists of its latest Write, failed or not, their rows
	// zeroed, for its next (see split): a worker's writes come one at a time, from its
	// committer.
	rows map[int][][]row
}

// Open opens the recovery directory dir for a run, holding its lock (see state.LockFile)
// until Close. It fails, never starting afresh, with ErrNoPartitions,
// *MissingPartitionsError, *CorruptError, *FormatError, *AccessError or, when another run
// holds the directory, *LockedError. Partition files are checked with SQLite's
// quick_check, which reads each file once.
func Open(dir string) (*Store, error) { return open(dir, false, 0) }

// OpenOrInit is Open, except that when dir holds no partition, or does not exist, it first
// creates dir with n partitions, under the directory's lock: of two runs started at once
// on a new directory, one creates it and the other is refused as locked.
func OpenOrInit(dir string, n int) (*Store, error) {
	if err := checkCount(dir, n); err != nil {
		return nil, err
	}
	return open(dir, false, n)
}

// Read opens the recovery directory dir for reading only, without its lock, so that
// a directory can be inspected while a run uses it: each partition is then read as its
// last committed transaction left it. Begin, Start, Write and GC fail on it.
func Read(dir string) (*Store, error) { return open(dir, true, 0) }

// open opens dir; create, when positive, is the partition count to create dir with if it
// holds none.
func open(dir string, readOnly bool, create int) (*Store, error) {
	s := &Store{dir: dir, now: time.Now, sem: newSem(), wrote: make(chan struct{}, 1), readOnly: readOnly, started: make(chan struct{})}
	var err error
	if create > 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			if isAccess(err) {
				return nil, &state.AccessError{Dir: dir, Partition: -1, Cause: err}
			}
			return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
		}
		if s.lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	var redo []int // partitions whose making a killed process left unfinished
	redoCount := 0
	if create > 0 {
		redo, redoCount, err = interrupted(dir, nil)
	}
	found, err2 := listPartitions(dir)
	err = cmp.Or(err, err2)
	switch {
	case err != nil:
	case len(found) == 0 && create > 0:
		if err = initPartitions(dir, create); err == nil {
			found, err = listPartitions(dir)
		}
	case len(found) == 0:
		err = noPartitions(dir)
	case len(redo) > 0:
		// Made again with the count they were begun with, which a run asking for another
		// is then refused by, as for any directory.
		if err = createPartitions(dir, max(redoCount, slices.Max(found)+1, slices.Max(redo)+1), redo); err == nil {
			found, err = listPartitions(dir)
		}
	}
	if err != nil {
		s.lock.unlock()
		return nil, err
	}
	if !readOnly && s.lock == nil {
		// Before anything is read: what a second run reads may change under it.
		if s.lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	count := found[len(found)-1] + 1
	dbs := map[int]*sql.DB{}
	counts := map[int]int{}
	var bad error
	closeAll := func() {
		for _, db := range dbs {
			db.Close()
		}
		s.lock.unlock()
	}
	// Opening checks each file whole (quick_check reads every page): the partitions are
	// checked at once, one per CPU.
	opened := make([]struct {
		db  *sql.DB
		n   int
		err error
	}, len(found))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for k, i := range found {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := &opened[k]
			o.db, o.n, o.err = openPartition(state.PartitionPath(dir, i), i, readOnly)
		})
	}
	wg.Wait()
	for k, i := range found {
		db, n, err := opened[k].db, opened[k].n, opened[k].err
		if err != nil {
			if bad == nil {
				bad = classify(dir, i, err, true)
			}
			continue
		}
		dbs[i], counts[i] = db, n
		count = max(count, n)
	}
	// Every readable partition must agree on the count; a file beyond it is foreign.
	for _, i := range found {
		if n, ok := counts[i]; ok && n != count && bad == nil {
			bad = &state.CorruptError{Dir: dir, Partition: i, Cause: fmt.Errorf("it belongs to a directory of %d partitions, this one has %d", n, count)}
		}
	}
	var missing []int
	for i := range count {
		if !slices.Contains(found, i) {
			missing = append(missing, i)
		}
	}
	if missing != nil {
		closeAll()
		return nil, &state.MissingPartitionsError{Dir: dir, Missing: missing, Count: count}
	}
	if bad == nil {
		s.origin, bad = checkOrigins(dir, dbs)
	}
	if bad != nil {
		closeAll()
		return nil, bad
	}
	for i := range count {
		s.parts = append(s.parts, dbs[i])
		s.held = append(s.held, i)
	}
	s.ids = make([]stepIDs, count)
	return s, nil
}

// stepIDs caches a partition's steps table. Writes to the partition hold mu for their
// transaction, so that ids it adds enter the cache only once they are committed;
// collection holds it too, so that writes and collection of a partition take turns.
type stepIDs struct {
	mu     sync.Mutex
	loaded bool
	ids    map[string]int64
	// raw is the connection collection checks the partition's rows on (see checkRows),
	// opened by the first collection, kept while every check finds the rows sound, and
	// closed by Close: opening it and preparing its statement cost about 0.2 ms, more
	// than checking a small epoch's rows.
	raw *rawConn
	// w is the connection writes go through (see rawWriter), opened by the first write,
	// and by the next after one failed, and closed by Close.
	w *rawWriter
}

// load fills the cache from db on first use.
func (c *stepIDs) load(db *sql.DB) error {
	if c.loaded {
		return nil
	}
	names, err := stepNames(db)
	if err != nil {
		return err
	}
	c.ids = make(map[string]int64, len(names))
	for id, name := range names {
		c.ids[name] = id
	}
	c.loaded = true
	return nil
}

func stepNames(q interface {
	Query(string, ...any) (*sql.Rows, error)
}) (map[int64]string, error) {
	rows, err := q.Query(`SELECT id, name, crc FROM steps`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[int64]string{}
	for rows.Next() {
		var id, crc int64
		var name string
		if err := rows.Scan(&id, &name, &crc); err != nil {
			return nil, err
		}
		if crc != sumStep(id, name) {
			return nil, &checksumError{row: fmt.Sprintf("step id %d (%q)", id, name)}
		}
		names[id] = name
	}
	return names, rows.Err()
}

// openPartition opens and checks one partition file, returning its partition count.
func openPartition(path string, i int, ro bool) (*sql.DB, int, error) {
	mode := readWrite
	if ro {
		mode = readOnly
	}
	db, n, err := openAs(path, i, mode)
	if ro && isAccess(err) {
		db, n, err = openAs(path, i, immutable)
	}
	return db, n, err
}

func openAs(path string, i int, mode openMode) (*sql.DB, int, error) {
	db, err := openDB(path, mode)
	if err != nil {
		return nil, 0, err
	}
	n, err := checkPartition(db, i)
	if err == nil && mode == readWrite {
		// A run must write: find out now, not at the first epoch's commit. SQLite opens a
		// file it may not write read-only without a word, and in WAL mode even a write
		// lock is granted: only a write, rolled back, tells.
		var t *sql.Tx
		if t, err = db.Begin(); err == nil {
			_, err = t.Exec(`UPDATE meta SET value = value WHERE name = 'format'`)
			if rerr := t.Rollback(); err == nil {
				err = rerr
			}
		}
	}
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, n, nil
}

// readMeta reads a partition's meta table, checking each row.
func readMeta(q interface {
	Query(string, ...any) (*sql.Rows, error)
}) (map[string]int64, error) {
	meta := map[string]int64{}
	rows, err := q.Query(`SELECT name, value, crc FROM meta`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v, crc int64
		if err := rows.Scan(&k, &v, &crc); err != nil {
			return nil, err
		}
		if crc != sumMeta(k, v) {
			return nil, &checksumError{row: fmt.Sprintf("meta %s", k)}
		}
		meta[k] = v
	}
	return meta, rows.Err()
}

func checkPartition(db *sql.DB, i int) (int, error) {
	if err := db.Ping(); err != nil {
		return 0, err
	}
	var res string
	if err := db.QueryRow(`PRAGMA quick_check`).Scan(&res); err != nil {
		return 0, err
	}
	if res != "ok" {
		return 0, invalidError{fmt.Errorf("quick_check: %s", res)}
	}
	n, err := checkMeta(db, i)
	if err != nil {
		return 0, err
	}
	// Touch every table so a wrong schema shows here, not in the middle of a run.
	for _, q := range []string{
		`SELECT number, workers, resume, began_at, crc FROM executions LIMIT 1`,
		`SELECT execution, worker, epoch, final, crc FROM frontiers LIMIT 1`,
		`SELECT id, name, crc FROM steps LIMIT 1`,
		`SELECT epoch, step, key, state, crc FROM snapshots LIMIT 1`,
		`SELECT step, key, epoch, state, crc FROM compacted LIMIT 1`,
		`SELECT epoch, at, crc FROM commits LIMIT 1`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			return 0, invalidError{fmt.Errorf("wrong schema: %w", err)}
		}
		rows.Close()
	}
	return n, nil
}

// checkMeta checks that db is partition i of a recovery directory in this weir's format,
// from its meta table alone, and returns the directory's partition count.
func checkMeta(db *sql.DB, i int) (int, error) {
	// The format first, by itself: an older layout has no crc column to check.
	var format int64
	err := db.QueryRow(`SELECT value FROM meta WHERE name = 'format'`).Scan(&format)
	if err != nil {
		return 0, invalidError{fmt.Errorf("not a weir recovery partition: %w", err)}
	}
	if format != state.FormatVersion {
		return 0, &state.FormatError{Version: int(format)}
	}
	meta, err := readMeta(db)
	if err != nil {
		var ce *checksumError
		if errors.As(err, &ce) {
			return 0, err
		}
		return 0, invalidError{fmt.Errorf("not a weir recovery partition: %w", err)}
	}
	if v, ok := meta["partition"]; !ok || v != int64(i) {
		return 0, invalidError{fmt.Errorf("the file holds partition %d", v)}
	}
	n, ok := meta["partitions"]
	if !ok || n < 1 || int64(i) >= n {
		return 0, invalidError{fmt.Errorf("bad partition count %d", n)}
	}
	return int(n), nil
}

// Dir returns the recovery directory.
func (s *Store) Dir() string { return s.dir }

// Partitions returns the number of partitions.
func (s *Store) Partitions() int { return len(s.parts) }

// Close closes every partition file, then releases the partitions' locks and the
// directory's.
func (s *Store) Close() error {
	// In parallel: closing a partition checkpoints its write-ahead log into it, which at
	// the end of a run is the last thing it waits for.
	errs := make([]error, len(s.held))
	sem := wideSem()
	var wg sync.WaitGroup
	for i, p := range s.held {
		if db := s.parts[p]; db != nil { // nil when OpenParts failed
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				c := &s.ids[p]
				c.mu.Lock()
				c.raw.close()
				c.raw = nil
				// Before the driver's connection: the last connection to close
				// checkpoints the log into the file.
				c.w.close()
				c.w = nil
				c.mu.Unlock()
				errs[i] = db.Close()
			})
		}
	}
	wg.Wait()
	for _, l := range s.plocks {
		errs = append(errs, l.unlock())
	}
	s.plocks = nil
	errs = append(errs, s.lock.unlock())
	s.lock = nil
	return errors.Join(errs...)
}

// fail wraps an error of partition p, typing damage found mid-run as a *CorruptError and
// refused access as an *AccessError.
func (s *Store) fail(p int, err error) error { return classify(s.dir, p, err, false) }

// errReadOnly is the error of a change to a store opened by Read.
func (s *Store) errReadOnly(what string) error {
	return fmt.Errorf("weir: recovery directory %s: %s on a store opened for reading", s.dir, what)
}

// view is what partition p, which s holds, says about the last execution.
func (s *Store) view(p int) (state.View, error) {
	db := s.parts[p]
	v := state.View{Partition: p}
	meta, err := readMeta(db)
	if err != nil {
		return v, s.fail(p, err)
	}
	v.Collected = uint64(meta["collected"])
	var workers, began, crc int64
	err = db.QueryRow(`SELECT number, workers, resume, began_at, crc FROM executions ORDER BY number DESC LIMIT 1`).
		Scan(&v.Number, &workers, &v.Resume, &began, &crc)
	if errors.Is(err, sql.ErrNoRows) {
		v.Implied = 1
		return v, nil
	}
	if err != nil {
		return v, s.fail(p, err)
	}
	if err := checkExecution(crc, v.Number, workers, v.Resume, began); err != nil {
		return v, s.fail(p, err)
	}
	// Every row is read and checked, and the execution's picked in Go: a WHERE on the
	// execution would pass over a row whose execution was damaged into another type (the
	// blob '1' is not the integer 1), and the resume would start as if that worker had
	// committed nothing, losing state without an error (FuzzStoredRow found it).
	front, final := map[int]uint64{}, map[int]bool{}
	rows, err := db.Query(`SELECT execution, worker, epoch, final, crc FROM frontiers`)
	if err != nil {
		return v, s.fail(p, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, w, crc int64
		var e uint64
		var f bool
		if err := rows.Scan(&n, &w, &e, &f, &crc); err != nil {
			return v, s.fail(p, err)
		}
		if err := checkFrontier(crc, n, w, e, f); err != nil {
			return v, s.fail(p, err)
		}
		if n == v.Number {
			front[int(w)], final[int(w)] = e, f
		}
	}
	if err := rows.Err(); err != nil {
		return v, s.fail(p, err)
	}
	v.Implied = state.NextResume(int(workers), v.Resume, func(w int) (uint64, bool, bool) {
		f, ok := front[w]
		return f, final[w], ok
	})
	return v, nil
}

// Views implements state.Parts: what each held partition says about the last execution.
func (s *Store) Views() ([]state.View, error) {
	views := make([]state.View, 0, len(s.held))
	for _, p := range s.held {
		v, err := s.view(p)
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

// plan computes the epoch a new execution would resume from and its number, without
// changing the store, from the views of the partitions held (all of them, but in a
// cluster). It fails with *InconsistentError.
func (s *Store) plan() (resume uint64, number int64, err error) {
	views, err := s.Views()
	if err != nil {
		return 0, 0, err
	}
	return state.PlanViews(s.dir, views)
}

// Verify checks that the partitions are consistent, returning *InconsistentError or
// *CorruptError when not, and the epoch the next execution would resume from.
func (s *Store) Verify() (resume uint64, err error) {
	resume, _, err = s.plan()
	return resume, err
}

// Begin implements Store: it plans the execution and writes nothing.
func (s *Store) Begin(workers int) (uint64, error) {
	if workers < 1 {
		return 0, fmt.Errorf("weir: recovery directory %s: begin with %d workers", s.dir, workers)
	}
	if s.cluster && len(s.held) < len(s.parts) {
		return 0, fmt.Errorf("weir: recovery directory %s: a process holding some of the partitions plans the execution with the others (BeginAt), not alone", s.dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.execution != 0 {
		return 0, fmt.Errorf("weir: recovery directory %s: begin after start", s.dir)
	}
	resume, number, err := s.plan()
	if err != nil {
		return 0, err
	}
	s.pending, s.workers, s.resume = number, workers, resume
	return resume, nil
}

// BeginAt implements state.Parts: it plans the execution the processes of a cluster agreed
// on (state.PlanViews over all their Views), as Begin would have, and writes nothing.
func (s *Store) BeginAt(workers int, resume uint64, number int64) error {
	if workers < 1 || resume < 1 || number < 1 {
		return fmt.Errorf("weir: recovery directory %s: begin with %d workers at epoch %d as execution %d", s.dir, workers, resume, number)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.execution != 0 {
		return fmt.Errorf("weir: recovery directory %s: begin after start", s.dir)
	}
	s.pending, s.workers, s.resume = number, workers, resume
	return nil
}

// Start implements Store: in every partition, it drops the rows of the resume epoch and
// later and records the execution.
func (s *Store) Start() error {
	if s.readOnly {
		return s.errReadOnly("start")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == 0 || s.execution != 0 {
		return fmt.Errorf("weir: recovery directory %s: start without begin", s.dir)
	}
	number, workers, resume := s.pending, s.workers, s.resume
	now := s.now().UnixNano()
	origin := s.origin
	if origin == 0 && !s.cluster {
		origin = newOrigin()
	}
	err := each(setupSem(), s.held, func(p int) error {
		err := tx(s.parts[p], func(tx *sql.Tx) error {
			if _, err := tx.Exec(`DELETE FROM snapshots WHERE epoch >= ?`, resume); err != nil {
				return err
			}
			if origin != 0 {
				if _, err := tx.Exec(`INSERT OR IGNORE INTO meta (name, value, crc) VALUES ('origin', ?, ?)`, origin, sumMeta("origin", origin)); err != nil {
					return err
				}
			}
			if err := dropSteps(tx, s.drop); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO executions (number, workers, resume, began_at, crc) VALUES (?, ?, ?, ?, ?)`,
				number, workers, resume, now, sumExecution(number, int64(workers), resume, now)); err != nil {
				return err
			}
			_, err := tx.Exec(`INSERT OR IGNORE INTO commits (epoch, at, crc) VALUES (?, ?, ?)`, resume, now, sumCommit(resume, now))
			return err
		})
		if err != nil {
			return s.fail(p, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.execution, s.origin = number, origin
	s.frontier, s.final, s.base = map[int]uint64{}, map[int]bool{}, map[int]uint64{}
	s.drop = nil
	close(s.started)
	return nil
}

// DropAtStart implements state.Dropper: Start deletes every row of steps, and their ids.
func (s *Store) DropAtStart(steps []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = slices.Clone(steps)
}

// dropSteps deletes the rows of steps from one partition. Step ids are cached only once a
// worker writes, after Start, so the cache never holds a deleted id.
func dropSteps(tx *sql.Tx, steps []string) error {
	for _, step := range steps {
		for _, q := range []string{
			`DELETE FROM snapshots WHERE step = (SELECT id FROM steps WHERE name = ?)`,
			`DELETE FROM compacted WHERE step = (SELECT id FROM steps WHERE name = ?)`,
			`DELETE FROM steps WHERE name = ?`,
		} {
			if _, err := tx.Exec(q, step); err != nil {
				return err
			}
		}
	}
	return nil
}

// each runs fn for every partition of ps, as many at once as sem lets (their fsyncs
// overlap), and returns the error of the lowest failing partition.
func each(sem chan struct{}, ps []int, fn func(p int) error) error {
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(p)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// newSem bounds the partition transactions that run at once to half the CPUs: writes and
// collection run beside the workers, which keep the other half.
func newSem() chan struct{} { return make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)) }

// wideSem bounds the partition transactions of work that runs when the workers have
// nothing left to compute (a worker's final write, the collection and the closing at the
// end of a run) to every CPU: that work is what stands between the last item and the run's
// return.
func wideSem() chan struct{} { return make(chan struct{}, max(1, runtime.GOMAXPROCS(0))) }

// setupSem bounds the partition work of a run's setup, before any worker computes (making
// partitions, Start), to maxSetup partitions at once, or every CPU if more. That work
// mostly waits for the disk: making a partition syncs it two or three times, and Start
// commits a transaction in each. Half the CPUs, one partition at a time on two, queued
// the syncs one behind another: on the development VM (loaded), making 4 partitions took
// a median of 88 ms (18-370 in 30 runs), now 24 ms (10-111), and Start 12.5 ms (3-93),
// now 5 ms (1-74), alternated. Both come before a run's first item (Init when it makes
// the directory).
func setupSem() chan struct{} { return make(chan struct{}, max(runtime.GOMAXPROCS(0), maxSetup)) }

// maxSetup is how many partitions setupSem lets run at once.
const maxSetup = 16

// CopiesWrites implements state.Copier: a write binds copies of its keys and states, in
// SQLite's memory (rawWriter) or the driver's, and empties its row lists before it
// returns, so it keeps nothing of the snapshots it was given.
func (s *Store) CopiesWrites() bool { return true }

var _ state.Copier = (*Store)(nil)

func tx(db *sql.DB, fn func(*sql.Tx) error) error {
	t, err := db.Begin()
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// Write implements Store: one transaction per partition, holding the worker's rows for
// that partition and its new frontier, committed durably before Write returns. In a
// cluster, the rows of partitions held by other processes are ignored: they are written
// there.
func (s *Store) Write(worker int, epochs []state.Epoch) error {
	if len(epochs) == 0 {
		return nil
	}
	s.mu.Lock()
	exec := s.execution
	if s.cluster && exec != 0 {
		s.base[worker] = epochs[0].Epoch
	}
	committed := s.committedLocked()
	spare := s.rows[worker]
	s.mu.Unlock()
	if exec == 0 {
		return fmt.Errorf("weir: recovery directory %s: write before start", s.dir)
	}
	s.writing.Add(1)
	byPart := s.split(epochs, spare)
	last := epochs[len(epochs)-1]
	next := last.Epoch + 1
	now := s.now().UnixNano()
	sem := s.sem
	if last.Final {
		sem = wideSem() // the worker has completed the stream: its CPU is free
	}
	err := each(sem, s.held, func(p int) error {
		if err := s.writePart(p, byPart[p], exec, worker, next, last.Final, committed, now); err != nil {
			return s.fail(p, fmt.Errorf("writing epochs %d to %d of worker %d: %w", epochs[0].Epoch, last.Epoch, worker, err))
		}
		return nil
	})
	// No longer under way before the collection this write calls for hears of it (below):
	// one that woke first saw it under way, gave way to it and left every partition to the
	// next write.
	s.writing.Add(-1)
	for p := range byPart {
		clear(byPart[p]) // the rows point into the epochs' snapshots, which may go now
	}
	s.mu.Lock()
	if s.rows == nil {
		s.rows = map[int][][]row{}
	}
	s.rows[worker] = byPart
	if err == nil && s.execution == exec {
		s.frontier[worker], s.final[worker] = next, last.Final
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case s.wrote <- struct{}{}:
	default: // a collection is already due
	}
	return nil
}

// split sorts the rows of epochs by partition, leaving out those of partitions not held.
// Rows go in epoch order, which keeps each key's rows in epoch order by rowid. It fills
// the lists of spare, the same worker's last write's, where they have room: made anew,
// the lists for a snapshot of 100k keys were about 3 MB of garbage a write.
func (s *Store) split(epochs []state.Epoch, spare [][]row) [][]row {
	n := len(s.parts)
	total := 0
	for _, e := range epochs {
		for _, sn := range e.Snaps {
			total += len(sn.Changes)
		}
	}
	// Each partition's share of the rows, with room for the hash's unevenness: growing
	// them by appends made a write's largest garbage.
	share := total/n + total/(8*n) + 16
	byPart := spare
	if len(byPart) != n {
		byPart = make([][]row, n)
	}
	for p := range byPart {
		// A list over four times the share is made anew too, so that one large write does
		// not hold its memory for every later, smaller one.
		if c := cap(byPart[p]); s.parts[p] != nil && (c < share || c > 4*share) {
			byPart[p] = make([]row, 0, share)
		} else {
			byPart[p] = byPart[p][:0]
		}
	}
	for _, e := range epochs {
		for _, sn := range e.Snaps {
			h := state.HashStep(sn.Step)
			for i := range sn.Changes {
				if p := h.Partition(sn.Changes[i].Key, n); s.parts[p] != nil {
					byPart[p] = append(byPart[p], row{e.Epoch, sn.Step, &sn.Changes[i]})
				}
			}
		}
	}
	return byPart
}

// rowsPerInsert is how many rows one INSERT statement carries: one statement per row
// spends more in the driver than in SQLite.
const rowsPerInsert = 64

// insertSnapshots inserts rows into snapshots in their order but within an epoch, which a
// key has one row of per step; id gives a step's id. Every value bound to a statement
// costs as much in database/sql and the driver as SQLite's inserting it, so the rows of
// a step in an epoch go rowsPerInsert at a time through a statement that takes their
// epoch and step once (sharedRows), three values a row instead of five; what is left of
// each run goes through snapshotRows with the epoch's other remainders.
func insertSnapshots(tx *sql.Tx, rows []row, id func(step string) (int64, error)) error {
	var shared, mixed *sql.Stmt
	defer func() {
		if shared != nil {
			shared.Close()
		}
		if mixed != nil {
			mixed.Close()
		}
	}()
	args := make([]any, 0, 5*rowsPerInsert)
	var sum summer
	var rest []row // remainders of the current epoch's runs
	flush := func() error {
		for len(rest) > 0 {
			k := min(len(rest), rowsPerInsert)
			args = args[:0]
			for _, r := range rest[:k] {
				sid, err := id(r.step)
				if err != nil {
					return err
				}
				st, crc := stateArgs(&sum, r)
				args = append(args, r.epoch, sid, r.c.Key, st, crc)
			}
			var err error
			switch {
			case k < rowsPerInsert:
				_, err = tx.Exec(snapshotRows(k), args...)
			case mixed == nil:
				if mixed, err = tx.Prepare(snapshotRows(rowsPerInsert)); err == nil {
					_, err = mixed.Exec(args...)
				}
			default:
				_, err = mixed.Exec(args...)
			}
			if err != nil {
				return err
			}
			rest = rest[k:]
		}
		rest = rest[:0]
		return nil
	}
	for i := 0; i < len(rows); {
		epoch, step := rows[i].epoch, rows[i].step
		if i > 0 && rows[i-1].epoch != epoch {
			// A key's rows must stay in epoch order by rowid.
			if err := flush(); err != nil {
				return err
			}
		}
		j := i + 1
		for j < len(rows) && rows[j].epoch == epoch && rows[j].step == step {
			j++
		}
		if j-i >= rowsPerInsert {
			sid, err := id(step)
			if err != nil {
				return err
			}
			if shared == nil {
				if shared, err = tx.Prepare(sharedRows(rowsPerInsert)); err != nil {
					return err
				}
			}
			for ; i+rowsPerInsert <= j; i += rowsPerInsert {
				args = append(args[:0], epoch, sid)
				for _, r := range rows[i : i+rowsPerInsert] {
					st, crc := stateArgs(&sum, r)
					args = append(args, r.c.Key, st, crc)
				}
				if _, err := shared.Exec(args...); err != nil {
					return err
				}
			}
		}
		rest = append(rest, rows[i:j]...)
		i = j
	}
	return flush()
}

// stateArgs returns the state column of r (NULL, nil, for a deletion) and its checksum.
func stateArgs(sum *summer, r row) (state any, crc int64) {
	if !r.c.Deleted {
		state = nonNil(r.c.State)
	}
	return state, sum.state(r.step, r.c.Key, r.epoch, r.c.State, r.c.Deleted)
}

func (s *Store) writePart(p int, rows []row, exec int64, worker int, next uint64, final bool, committed uint64, now int64) error {
	c := &s.ids[p]
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.load(s.parts[p]); err != nil {
		return err
	}
	fr := frontierRow{exec: exec, worker: worker, next: next, final: final}
	if c.w == nil && !s.driverWrites {
		c.w = openWriter(state.PartitionPath(s.dir, p))
	}
	// The steps this write names for the first time: known once it has committed.
	ids := writeIDs{known: c.ids, added: map[string]int64{}}
	var err error
	if c.w != nil {
		if err = c.w.write(rows, ids, fr, committed, now); err != nil {
			// The connection may be what failed: the next write opens another.
			c.w.close()
			c.w = nil
		}
	} else {
		err = s.writeTx(p, rows, ids, fr, committed, now)
	}
	if err == nil {
		maps.Copy(c.ids, ids.added)
	}
	return err
}

// writeIDs are the step ids a write knows: those of the partition's steps table when it
// began, and those it has added to it.
type writeIDs struct{ known, added map[string]int64 }

// of returns step's id, if the write knows it.
func (w writeIDs) of(step string) (int64, bool) {
	if id, ok := w.known[step]; ok {
		return id, true
	}
	id, ok := w.added[step]
	return id, ok
}

// writeTx is writePart through database/sql, for a partition whose writer could not be
// opened.
func (s *Store) writeTx(p int, rows []row, ids writeIDs, fr frontierRow, committed uint64, now int64) error {
	return tx(s.parts[p], func(tx *sql.Tx) error {
		id := func(step string) (int64, error) {
			if id, ok := ids.of(step); ok {
				return id, nil
			}
			// The id is chosen here rather than by SQLite, as the checksum covers it.
			var id int64
			if err := tx.QueryRow(`SELECT coalesce(max(id), 0) + 1 FROM steps`).Scan(&id); err != nil {
				return 0, err
			}
			if _, err := tx.Exec(`INSERT INTO steps (id, name, crc) VALUES (?, ?, ?)`, id, step, sumStep(id, step)); err != nil {
				return 0, err
			}
			ids.added[step] = id
			return id, nil
		}
		if err := insertSnapshots(tx, rows, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT OR REPLACE INTO frontiers (execution, worker, epoch, final, crc) VALUES (?, ?, ?, ?, ?)`,
			fr.exec, fr.worker, fr.next, fr.final, sumFrontier(fr.exec, int64(fr.worker), fr.next, fr.final)); err != nil {
			return err
		}
		// Recorded one write late, which only makes garbage collection more careful.
		_, err := tx.Exec(`INSERT OR IGNORE INTO commits (epoch, at, crc) VALUES (?, ?, ?)`, committed, now, sumCommit(committed, now))
		return err
	})
}

// snapshotRows is the statement inserting n snapshot rows. A write retried after a failure
// may repeat rows; readers take a key's last row.
func snapshotRows(n int) string {
	return `INSERT INTO snapshots (epoch, step, key, state, crc) VALUES (?, ?, ?, ?, ?)` +
		strings.Repeat(`, (?, ?, ?, ?, ?)`, n-1)
}

// sharedRows is the statement inserting n snapshot rows of one epoch (?1) and step (?2),
// each row's key, state and checksum following. The rows' parameters are anonymous (SQLite
// numbers each one past the largest so far): the driver reads every parameter's name, and
// one named ?NNN cost it an allocation and a parse.
func sharedRows(n int) string {
	return `INSERT INTO snapshots (epoch, step, key, state, crc) VALUES (?1, ?2, ?, ?, ?)` +
		strings.Repeat(`, (?1, ?2, ?, ?, ?)`, n-1)
}

// compactLatest moves the latest row below epoch ?1 of each key of snapshots into
// compacted (a deletion as NULL, which collect then drops), keeping a newer row compacted
// already holds. A key's latest row is its last by rowid (see snapshotRows); SQLite takes
// the bare columns of a group from the row of its max(rowid). Rows below epoch ?2 are
// left out: each has a later row of its key (below.from), so none is a latest row.
const compactLatest = `INSERT INTO compacted (step, key, epoch, state, crc)
	SELECT step, key, epoch, state, crc FROM
		(SELECT step, key, epoch, state, crc, max(rowid) FROM snapshots WHERE epoch < ?1 AND epoch >= ?2 GROUP BY step, key)
	WHERE true
	ON CONFLICT (step, key) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, crc = excluded.crc
	WHERE excluded.epoch >= compacted.epoch`

// compactInOrder is compactLatest for rows of a single epoch (from ?2 on), where a key has
// one row but for a write repeated after a failure: rows go in rowid order, each
// replacing an earlier one of its key, without the grouping's sort, a fifth of the
// statement's cost. With several epochs to collect, grouping is cheaper than moving every
// epoch's row of a key.
const compactInOrder = `INSERT INTO compacted (step, key, epoch, state, crc)
	SELECT step, key, epoch, state, crc FROM snapshots WHERE epoch < ?1 AND epoch >= ?2 ORDER BY rowid
	ON CONFLICT (step, key) DO UPDATE SET epoch = excluded.epoch, state = excluded.state, crc = excluded.crc
	WHERE excluded.epoch >= compacted.epoch`

// replaceLatest and replaceInOrder are compactLatest and compactInOrder without the guard
// that keeps a newer row of compacted: a key's row replaces compacted's, which costs
// SQLite less than its upsert (5-7% of a collection's CPU, BenchmarkEpochCycle). collect
// uses them only when no row it moves can be older than compacted's (see collect).
const (
	replaceLatest = `INSERT OR REPLACE INTO compacted (step, key, epoch, state, crc)
	SELECT step, key, epoch, state, crc FROM
		(SELECT step, key, epoch, state, crc, max(rowid) FROM snapshots WHERE epoch < ?1 AND epoch >= ?2 GROUP BY step, key)`
	replaceInOrder = `INSERT OR REPLACE INTO compacted (step, key, epoch, state, crc)
	SELECT step, key, epoch, state, crc FROM snapshots WHERE epoch < ?1 AND epoch >= ?2 ORDER BY rowid`
)

// replaced counts the collections that moved their rows with replaceLatest or
// replaceInOrder (a test's hook).
var replaced atomic.Int64

// dropDeletions drops the deletions that the move (compactLatest, compactInOrder or their
// replace forms) just moved below epoch ?1, with nothing older left to hide. It looks up
// only the keys deleted among the rows collected, as every earlier collection dropped its
// own: scanning compacted for them cost a read of the whole state at every collection.
const dropDeletions = `DELETE FROM compacted WHERE state IS NULL
	AND (step, key) IN (SELECT step, key FROM snapshots WHERE epoch < ?1 AND state IS NULL)`

// deleteMoved deletes the snapshot rows below epoch ?1 once they are collected; deleteAll
// deletes them when they are every row: without a WHERE clause, SQLite frees the table's
// pages instead of deleting row after row.
const (
	deleteMoved = `DELETE FROM snapshots WHERE epoch < ?1`
	deleteAll   = `DELETE FROM snapshots`
)

// checkRowsBelow checks every snapshot row below epoch h, which collection moves or
// drops: a damaged row must not be dropped unnoticed, nor hide another key's row. It
// reports whether the rows are all of one epoch.
func checkRowsBelow(tx *sql.Tx, h int64) (oneEpoch bool, err error) {
	names, err := stepNames(tx)
	if err != nil {
		return false, err
	}
	rows, err := tx.Query(`SELECT step, key, epoch, state, state IS NULL, crc FROM snapshots WHERE epoch < ?`, h)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var sum summer
	var r stateRow
	var st sql.RawBytes // valid until the next row: the state is only summed
	first, epochs := uint64(0), 0
	for rows.Next() {
		if err := rows.Scan(&r.step, &r.key, &r.epoch, &st, &r.deleted, &r.crc); err != nil {
			return false, err
		}
		r.state = st
		if err := r.check(&sum, names); err != nil {
			return false, err
		}
		if epochs == 0 || (epochs == 1 && r.epoch != first) {
			first = r.epoch
			epochs++
		}
	}
	return epochs <= 1, rows.Err()
}

type row struct {
	epoch uint64
	step  string
	c     *state.Change
}

// partitionOf is state.PartitionOf, for functions whose results are named state.
func partitionOf(step, key string, n int) int { return state.PartitionOf(step, key, n) }

// nonNil keeps an empty state distinct from a deletion (NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// committedLocked is the epoch below which every worker of the current execution has
// written through this store, and in a cluster through every process's.
func (s *Store) committedLocked() uint64 {
	c := state.NextResume(s.workers, s.resume, func(w int) (uint64, bool, bool) {
		f, ok := s.frontier[w]
		return f, s.final[w], ok
	})
	if s.cluster {
		c = min(c, s.clusterCommittedLocked())
	}
	return c
}

// clusterCommittedLocked is the epoch below which every worker of a cluster's execution
// has written to every partition, held here or not, as far as this process can tell. A
// worker's process writes its rows and frontier to every process holding partitions and
// waits for all of them before its next Write: a Write that reaches this process from
// epoch e says that the worker's previous one, up to frontier e, is on every partition.
// Garbage collection must not go beyond it: a partition elsewhere that a crash left
// behind would be refused as inconsistent with the horizon collected here.
func (s *Store) clusterCommittedLocked() uint64 {
	return state.NextResume(s.workers, s.resume, func(w int) (uint64, bool, bool) {
		b, ok := s.base[w]
		return b, false, ok
	})
}

// Check reads every row of every partition and verifies its checksum, returning the
// first *CorruptError. Load and State check the rows they read; Check also checks the
// rows no resume would read now.
func (s *Store) Check() error {
	for _, p := range s.held {
		if err := checkPart(s.parts[p]); err != nil {
			return s.fail(p, err)
		}
	}
	return nil
}

func checkPart(db *sql.DB) error {
	names, err := stepNames(db)
	if err != nil {
		return err
	}
	if _, err := readMeta(db); err != nil {
		return err
	}
	var sum summer
	for _, q := range []string{
		`SELECT step, key, epoch, state, state IS NULL, crc FROM snapshots`,
		`SELECT step, key, epoch, state, state IS NULL, crc FROM compacted`,
	} {
		err := func() error {
			rows, err := db.Query(q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r stateRow
				if err := rows.Scan(&r.step, &r.key, &r.epoch, &r.state, &r.deleted, &r.crc); err != nil {
					return err
				}
				if err := r.check(&sum, names); err != nil {
					return err
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
	}
	for _, q := range []struct {
		query string
		check func(rows *sql.Rows) error
	}{
		{`SELECT number, workers, resume, began_at, crc FROM executions`, func(rows *sql.Rows) error {
			var n, w, began, crc int64
			var resume uint64
			if err := rows.Scan(&n, &w, &resume, &began, &crc); err != nil {
				return err
			}
			return checkExecution(crc, n, w, resume, began)
		}},
		{`SELECT execution, worker, epoch, final, crc FROM frontiers`, func(rows *sql.Rows) error {
			var n, w, crc int64
			var e uint64
			var f bool
			if err := rows.Scan(&n, &w, &e, &f, &crc); err != nil {
				return err
			}
			return checkFrontier(crc, n, w, e, f)
		}},
		{`SELECT epoch, at, crc FROM commits`, func(rows *sql.Rows) error {
			var e uint64
			var at, crc int64
			if err := rows.Scan(&e, &at, &crc); err != nil {
				return err
			}
			return checkCommit(crc, e, at)
		}},
	} {
		err := func() error {
			rows, err := db.Query(q.query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := q.check(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// stepKey is a key of a step, by the step's id in one partition.
type stepKey struct {
	step int64
	key  string
}

// stateRow is a row of snapshots or compacted as read.
type stateRow struct {
	step    int64
	key     string
	epoch   uint64
	state   []byte
	deleted bool // a zero-length state scans as nil too
	crc     int64
}

// check verifies r's checksum; names are the partition's step names by id.
func (r *stateRow) check(sum *summer, names map[int64]string) error {
	name, ok := names[r.step]
	if !ok {
		return invalidError{fmt.Errorf("state of key %q of unknown step id %d", r.key, r.step)}
	}
	if sum.state(name, r.key, r.epoch, r.state, r.deleted) != r.crc {
		return &checksumError{step: name, key: r.key}
	}
	return nil
}

// latestRows reads the snapshot rows below epoch and returns the latest of each key: in
// rowid order a key's later rows come later, so no sort is needed. Every row is checked.
func latestRows(q interface {
	Query(string, ...any) (*sql.Rows, error)
}, below uint64, names map[int64]string, sum *summer) (map[stepKey]stateRow, error) {
	rows, err := q.Query(`SELECT step, key, epoch, state, state IS NULL, crc FROM snapshots WHERE epoch < ? ORDER BY rowid`, below)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	latest := map[stepKey]stateRow{}
	for rows.Next() {
		var r stateRow
		if err := rows.Scan(&r.step, &r.key, &r.epoch, &r.state, &r.deleted, &r.crc); err != nil {
			return nil, err
		}
		if err := r.check(sum, names); err != nil {
			return nil, err
		}
		latest[stepKey{r.step, r.key}] = r
	}
	return latest, rows.Err()
}

// GC collects the snapshot rows no resume can need any more: below the latest epoch that
// every worker had completed at least backup ago, only each key's latest state is kept
// (moved to compacted), and deletions with nothing older left to hide are dropped. A copy
// of the directory taken within the backup interval resumes from at least that epoch, so
// it still finds the latest row before its resume epoch. GC may run while workers write;
// it collects the partitions on every CPU, as it is meant for the end of a run, where
// nothing else is left to do (CollectEvery collects beside the workers, on the store's
// share of the CPUs).
func (s *Store) GC(backup time.Duration) error { return s.gc(backup, wideSem(), nil, false) }

// gc is GC with the partitions' transactions bounded by sem. Once quit is closed, or
// while a Write is under way if yield, it leaves the partitions it has not begun as they
// are: each partition's collection stands alone, and a later one takes them.
func (s *Store) gc(backup time.Duration, sem chan struct{}, quit <-chan struct{}, yield bool) error {
	if s.readOnly {
		return s.errReadOnly("garbage collection")
	}
	cutoff := s.now().Add(-backup).UnixNano()
	// commits learns of an epoch one write late; with no backup interval to honour, every
	// epoch that all partitions hold is collectable at once.
	var committed uint64
	if backup <= 0 {
		var err error
		if committed, err = s.Verify(); err != nil {
			return err
		}
		if s.cluster {
			s.mu.Lock()
			committed = min(committed, s.clusterCommittedLocked())
			s.mu.Unlock()
		}
	}
	// A collection begins where the last background one stopped: in the partitions' order
	// every time, one that gave way to each epoch's write after two partitions never
	// collected the other two, and the end of a run found several epochs left there. The
	// GC at the end of a run so begins with the partitions that have the most left.
	ps := rotate(s.held, int(s.lagging.Load()))
	left := make([]bool, len(ps))
	err := each(sem, ps, func(p int) error {
		i := slices.Index(ps, p)
		select {
		case <-quit:
			left[i] = true
			return nil
		default:
		}
		if yield && s.writing.Load() > 0 {
			left[i] = true
			return nil
		}
		if s.collected != nil {
			defer s.collected(p)
		}
		// Under the partition's write lock: a write that comes meanwhile (a worker's final
		// one, on its own CPUs) waits here rather than in SQLite's busy handler, which
		// polls, and fails after its timeout.
		c := &s.ids[p]
		c.mu.Lock()
		defer c.mu.Unlock()
		path := state.PartitionPath(s.dir, p)
		if err := tx(s.parts[p], func(tx *sql.Tx) error { return collect(tx, &c.raw, path, cutoff, committed) }); err != nil {
			return s.fail(p, err)
		}
		return nil
	})
	if i := slices.Index(left, true); i >= 0 && quit != nil {
		s.lagging.Store(int64(ps[i]))
	}
	return err
}

// rotate returns ps (ascending) from partition first on, then those before it.
func rotate(ps []int, first int) []int {
	i, _ := slices.BinarySearch(ps, first)
	return append(slices.Clone(ps[i:]), ps[:i]...)
}

// collect collects the partition file path in tx (see GC), checking its rows on *raw
// (see checkRows).
func collect(tx *sql.Tx, raw **rawConn, path string, cutoff int64, committed uint64) error {
	var h int64 // collect below this epoch
	rows, err := tx.Query(`SELECT epoch, at, crc FROM commits`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e uint64
		var at, crc int64
		if err := rows.Scan(&e, &at, &crc); err != nil {
			rows.Close()
			return err
		}
		if err := checkCommit(crc, e, at); err != nil {
			rows.Close()
			return err
		}
		if at <= cutoff {
			h = max(h, int64(e))
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	h = max(h, int64(committed))
	meta, err := readMeta(tx)
	if err != nil {
		return err
	}
	if h <= meta["collected"] {
		return nil
	}
	// Every row below h is checked, then the latest row of each key moves to compacted
	// with its checksum, in one statement: SQLite picks and moves the rows, which costs
	// about half of reading each into Go and inserting it back.
	// Epochs are consecutive from 1: with more than one to collect, the check also finds
	// those wholly superseded by later rows, which need not move.
	moved, err := checkRows(tx, raw, path, h, h-max(meta["collected"], 1) > 1)
	if err != nil {
		return err
	}
	move := compactLatest
	if moved.oneEpoch {
		move = compactInOrder
	}
	// Every row of compacted is older than meta.collected: collection moves only rows
	// below its horizon and records the horizon in the same transaction, and the horizon
	// only rises. Rows collected now that are all at that epoch or later are so each at
	// least as new as its key's row in compacted, and replace it without the guard. A row
	// older than it (a write of an epoch already collected, retried after a failure) keeps
	// the guard: it must not replace the newer row collected since.
	if moved.least >= 0 && moved.least >= meta["collected"] {
		move = replaceLatest
		if moved.oneEpoch {
			move = replaceInOrder
		}
		replaced.Add(1)
	}
	if _, err := tx.Exec(move, h, max(moved.from, 0)); err != nil {
		return err
	}
	if moved.deletions {
		if _, err := tx.Exec(dropDeletions, h); err != nil {
			return err
		}
	}
	// With every row collected (the usual case, once a write has reached every worker's
	// frontier), SQLite empties the table by freeing its pages rather than deleting each
	// row.
	if moved.all {
		_, err = tx.Exec(deleteAll)
	} else {
		_, err = tx.Exec(deleteMoved, h)
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM commits WHERE epoch < ?`, h); err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT OR REPLACE INTO meta (name, value, crc) VALUES ('collected', ?, ?)`, h, sumMeta("collected", h))
	return err
}

// CollectEvery runs GC(backup) on a goroutine once the execution has started (Start), so
// that a refused run changes nothing, then every interval until stop is called, so that a
// long execution's store stays the size of its state. stop returns the first error GC
// met, after which it stopped collecting.
//
// Without a backup interval (backup 0), every committed epoch is collectable at once, and
// it also collects after each Write: collection then keeps up with the writes while the
// workers compute, on the store's share of the CPUs, and the GC at the end of a run finds
// only the last epochs to collect rather than every epoch since the last interval (the
// second or so a run of a large state spent after its last item). Such a collection gives
// way to writes, partition by partition, so that a store that falls behind the flow spends
// its time on writes, which the flow waits for (the next collection begins at the first
// partition it left); and it waits after the last collection as long as that took, so
// that it takes at most about half a CPU. Once every worker has written its final epoch it
// collects no more: the GC at the end of the run does, on every CPU.
func (s *Store) CollectEvery(interval, backup time.Duration) (stop func() error) {
	quit, done := make(chan struct{}), make(chan struct{})
	var err error
	go func() {
		defer close(done)
		select {
		case <-quit:
			return
		case <-s.started:
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		var wrote chan struct{} // nil: with a backup interval, time makes rows collectable
		if backup <= 0 {
			wrote = s.wrote
		}
		afterWrite := false
		for {
			began := time.Now()
			if s.finished() {
				// The GC at the end of the run collects what is left on every CPU: one begun
				// here, after the final writes, on the store's share of them, held up the
				// run's return while the other CPUs had nothing to do (60-270 ms in 3 of 12
				// traced runs, on a busy machine).
				<-quit
				return
			}
			if err = s.gc(backup, s.sem, quit, afterWrite); err != nil {
				return
			}
			// The next collection after a write waits as long as this one took: it takes at
			// most about half a CPU, and a store on a busy machine collects less often,
			// moving each key's latest row once for several epochs.
			ready := time.Now().Add(time.Since(began))
			var due <-chan time.Time // a write came before ready
		wait:
			for {
				select {
				case <-quit:
					return
				case <-t.C:
					afterWrite = false
					break wait
				case <-due:
					afterWrite = true
					break wait
				case <-wrote:
					if d := time.Until(ready); d > 0 {
						due = time.After(d)
						continue
					}
					afterWrite = true
					break wait
				}
			}
		}
	}()
	return func() error {
		close(quit)
		<-done
		return err
	}
}

// finished reports whether every worker of the current execution has written its final
// epoch through this store: the run's end comes next.
func (s *Store) finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.workers == 0 {
		return false
	}
	for w := range s.workers {
		if !s.final[w] {
			return false
		}
	}
	return true
}

// Inspect reads what the directory holds, without changing it.
func (s *Store) Inspect() (state.Info, error) {
	info := state.Info{Partitions: len(s.parts)}
	execs := map[int64]*state.ExecutionInfo{}
	steps := map[string]*state.StepInfo{}
	for _, p := range s.held {
		db := s.parts[p]
		err := func() error {
			rows, err := db.Query(`SELECT number, workers, resume, began_at, crc FROM executions`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var e state.ExecutionInfo
				var began, crc int64
				if err := rows.Scan(&e.Number, &e.Workers, &e.Resume, &began, &crc); err != nil {
					return err
				}
				if err := checkExecution(crc, e.Number, int64(e.Workers), e.Resume, began); err != nil {
					return err
				}
				if execs[e.Number] == nil {
					e.Began = time.Unix(0, began)
					e.Frontiers = make([]uint64, e.Workers)
					execs[e.Number] = &e
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			frows, err := db.Query(`SELECT execution, worker, epoch, final, crc FROM frontiers`)
			if err != nil {
				return err
			}
			defer frows.Close()
			for frows.Next() {
				var n, crc int64
				var w int
				var e uint64
				var final bool
				if err := frows.Scan(&n, &w, &e, &final, &crc); err != nil {
					return err
				}
				if err := checkFrontier(crc, n, int64(w), e, final); err != nil {
					return err
				}
				if x := execs[n]; x != nil && w < len(x.Frontiers) && (x.Frontiers[w] == 0 || e < x.Frontiers[w]) {
					x.Frontiers[w] = e
				}
			}
			if err := frows.Err(); err != nil {
				return err
			}
			srows, err := db.Query(`SELECT steps.name, count(DISTINCT key), count(*), coalesce(sum(length(state)), 0)
				FROM (SELECT step, key, state FROM snapshots UNION ALL SELECT step, key, state FROM compacted) AS x
				JOIN steps ON steps.id = x.step GROUP BY steps.name`)
			if err != nil {
				return err
			}
			defer srows.Close()
			for srows.Next() {
				var st state.StepInfo
				if err := srows.Scan(&st.Step, &st.Keys, &st.Rows, &st.Bytes); err != nil {
					return err
				}
				if x := steps[st.Step]; x != nil {
					x.Keys, x.Rows, x.Bytes = x.Keys+st.Keys, x.Rows+st.Rows, x.Bytes+st.Bytes
				} else {
					steps[st.Step] = &st
				}
			}
			return srows.Err()
		}()
		if err != nil {
			return state.Info{}, s.fail(p, err)
		}
	}
	for _, e := range execs {
		info.Executions = append(info.Executions, *e)
	}
	slices.SortFunc(info.Executions, func(a, b state.ExecutionInfo) int { return int(a.Number - b.Number) })
	for _, st := range steps {
		info.Steps = append(info.Steps, *st)
	}
	slices.SortFunc(info.Steps, func(a, b state.StepInfo) int { return strings.Compare(a.Step, b.Step) })
	return info, nil
}

// Steps returns the ids of the steps the directory holds state for, sorted.
func (s *Store) Steps() ([]string, error) {
	set := map[string]bool{}
	for _, p := range s.held {
		names, err := stepNames(s.parts[p])
		if err != nil {
			return nil, s.fail(p, err)
		}
		for _, n := range names {
			set[n] = true
		}
	}
	return slices.Sorted(maps.Keys(set)), nil
}

// State returns the state of (step, key) that the next execution would resume with, and
// the epoch it was written in, checking its checksum. It fails with ErrNoState when there
// is none.
func (s *Store) State(step, key string) (state []byte, epoch uint64, err error) {
	resume, err := s.Verify()
	if err != nil {
		return nil, 0, err
	}
	p := partitionOf(step, key, len(s.parts))
	db := s.parts[p]
	if db == nil {
		return nil, 0, fmt.Errorf("weir: recovery directory %s: the state of step %s, key %q is in %s, which another process holds", s.dir, step, key, "partition "+strconv.Itoa(p))
	}
	r := stateRow{key: key}
	err = db.QueryRow(`SELECT step, epoch, state, state IS NULL, crc FROM (
			SELECT step, epoch, state, crc FROM snapshots WHERE epoch < ?1 AND step = (SELECT id FROM steps WHERE name = ?2) AND key = ?3
			UNION ALL
			SELECT step, epoch, state, crc FROM compacted WHERE step = (SELECT id FROM steps WHERE name = ?2) AND key = ?3)
		ORDER BY epoch DESC LIMIT 1`, resume, step, key).Scan(&r.step, &r.epoch, &r.state, &r.deleted, &r.crc)
	if err == nil {
		var names map[int64]string
		if names, err = stepNames(db); err == nil {
			err = r.check(new(summer), names)
		}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && r.deleted:
		return nil, 0, &noStateError{fmt.Sprintf("weir: recovery directory %s: no state stored for step %s, key %q", s.dir, step, key)}
	case err != nil:
		return nil, 0, s.fail(p, err)
	}
	return nonNil(r.state), r.epoch, nil
}

// noStateError is an ErrNoState with its own message.
type noStateError struct{ msg string }

func (e *noStateError) Error() string        { return e.msg }
func (e *noStateError) Is(target error) bool { return target == state.ErrNoState }
