package sqlitestore

import (
	"cmp"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/weirflow/weir/internal/state"
)

// Load implements Store. It reads the held partitions at once, each on a goroutine of its
// own: SQLite's work per row is most of what a resume of many keys spends in the store,
// and the partitions share nothing. SQLite hands each row to Go itself (scanCompacted). fn is called on the caller's goroutine, one row at a
// time, with the partitions' rows merged into one order: steps by name, and each step's
// keys in byte-wise order (SQLite's BINARY collation, Go's string order). A key lives in
// one partition, so the merge only interleaves; the order lets the keyed runtime take a
// step's keys in without sorting them (a sort of 1M keys was a tenth of a resume).
//
// When partitions fail, the error of the lowest one is returned; an error of fn is
// returned as it is, as soon as fn returns it.
func (s *Store) Load(fn func(step, key string, state []byte) error) error {
	s.mu.Lock()
	resume := s.resume
	s.mu.Unlock()
	if resume == 0 {
		return fmt.Errorf("weir: recovery directory %s: load before begin", s.dir)
	}
	var names stepNameInterner
	streams := make([]*partStream, len(s.held))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, p := range s.held {
		st := newPartStream(stop)
		streams[i] = st
		db := s.parts[p]
		path := "" // see rawscan.go
		if !s.readOnly {
			path = state.PartitionPath(s.dir, p)
		}
		wg.Go(func() {
			defer close(st.full)
			if err := readPart(db, path, resume, &names, st); err != nil && !errors.Is(err, errStopped) {
				st.err = s.fail(p, err)
			}
		})
	}
	err := mergeStreams(streams, fn)
	close(stop)
	for _, st := range streams {
		for range st.full { // a reader blocked on a full channel sees stop
		}
	}
	wg.Wait()
	if errors.Is(err, errStopped) {
		for _, st := range streams {
			if st.err != nil {
				return st.err
			}
		}
	}
	return err
}

// loadRow is a row as Load hands it on.
type loadRow struct {
	step, key string
	state     []byte
}

// chunkRows is how many rows a partition's reader hands the merge at a time: enough for
// the handoff to cost nothing per row, few enough to keep the readers' memory small.
const chunkRows = 1024

// partStream carries the rows of one partition, in chunks, from its reader to the merge.
type partStream struct {
	full chan []loadRow // chunks read, in order; closed when the reader is done
	free chan []loadRow // chunks the merge has finished with, for the reader to reuse
	stop <-chan struct{}
	err  error // the reader's, set before full is closed

	chunk []loadRow // the merge's current chunk
	next  int       // the merge's position in chunk
	done  bool      // full is closed and drained
}

func newPartStream(stop <-chan struct{}) *partStream {
	return &partStream{full: make(chan []loadRow, 2), free: make(chan []loadRow, 4), stop: stop}
}

// send hands a chunk to the merge; false when the merge has stopped.
func (st *partStream) send(c []loadRow) bool {
	select {
	case st.full <- c:
		return true
	case <-st.stop:
		return false
	}
}

// buffer returns an empty chunk, reused when the merge has given one back.
func (st *partStream) buffer() []loadRow {
	select {
	case c := <-st.free:
		return c[:0]
	default:
		return make([]loadRow, 0, chunkRows)
	}
}

// head returns the stream's next row, or nil at its end (or on its error, in st.err).
func (st *partStream) head() *loadRow {
	for st.next == len(st.chunk) {
		if st.done {
			return nil
		}
		if st.chunk != nil {
			clear(st.chunk) // the reader reuses it: let the rows' bytes go
			select {
			case st.free <- st.chunk:
			default:
			}
		}
		c, ok := <-st.full
		st.chunk, st.next = c, 0
		if !ok {
			st.chunk, st.done = nil, true
			return nil
		}
	}
	return &st.chunk[st.next]
}

// mergeStreams calls fn with the rows of every stream, smallest (step, key) first, until
// the streams end, fn fails, or a stream fails (errStopped).
func mergeStreams(streams []*partStream, fn func(step, key string, state []byte) error) error {
	for {
		var best *partStream
		var bestRow *loadRow
		for _, st := range streams {
			r := st.head()
			switch {
			case r == nil:
				if st.err != nil {
					return errStopped
				}
				continue
			case bestRow == nil:
			// Step names are interned, so that equal names compare as one pointer.
			case r.step == bestRow.step:
				if r.key >= bestRow.key {
					continue
				}
			case r.step > bestRow.step:
				continue
			}
			best, bestRow = st, r
		}
		if best == nil {
			return nil
		}
		best.next++
		if err := fn(bestRow.step, bestRow.key, bestRow.state); err != nil {
			return err
		}
	}
}

// stepNameInterner gives every partition's reader the same string for the same step name.
type stepNameInterner struct {
	mu    sync.Mutex
	names map[string]string
}

func (in *stepNameInterner) intern(names map[int64]string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.names == nil {
		in.names = map[string]string{}
	}
	for id, n := range names {
		if c, ok := in.names[n]; ok {
			names[id] = c
		} else {
			in.names[n] = n
		}
	}
}

// stateArena holds the states a reader loads, many to an allocation: a resume of a million
// small states otherwise spends a fifth of its time allocating and collecting them. Each
// state is its own slice of the arena, capped at its length, so that appending to one
// cannot reach another; a state kept after resume keeps its block alive, at most the
// bytes loaded.
type stateArena struct{ block []byte }

const arenaBlock = 64 << 10

func (a *stateArena) copy(b []byte) []byte {
	if len(b) == 0 {
		return []byte{} // an empty state, not a deletion
	}
	if len(b) > arenaBlock/8 {
		return slices.Clone(b)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, arenaBlock)
	}
	n := len(a.block)
	a.block = append(a.block, b...)
	return a.block[n:len(a.block):len(a.block)]
}

// keyArena holds the keys a reader loads, many to an allocation, as stateArena does the
// states: a string of its own for each of a million keys was an object a key for the
// collector to scan while the resume's heap grew. A strings.Builder never changes bytes it
// has handed out in a String, so each key is a substring of its builder's String: it
// stays valid, and keeps its block alive, as long as anything holds it. A key kept after
// resume keeps at most the keys loaded alive.
type keyArena struct{ b strings.Builder }

func (a *keyArena) copy(key string) string {
	if len(key) > arenaBlock/8 {
		return strings.Clone(key)
	}
	if a.b.Cap()-a.b.Len() < len(key) {
		a.b = strings.Builder{} // the old block stays with the keys cut from it
		a.b.Grow(arenaBlock)
	}
	n := a.b.Len()
	a.b.WriteString(key)
	return a.b.String()[n:]
}

// readPart reads the latest state below resume of every key of one partition into st, in
// the order of Load: the recent rows of snapshots (few, as collection moves them to
// compacted), kept in a map, override the rows of compacted, read a step at a time in key
// order, on a connection of its own to the file path when path is not "" (see
// rawscan.go). Every row read is checked.
func readPart(db *sql.DB, path string, resume uint64, interner *stepNameInterner, st *partStream) error {
	names, err := stepNames(db)
	if err != nil {
		return err
	}
	r := &partReader{st: st, names: names}
	recent, err := latestRows(db, resume, names, &r.sum)
	if err != nil {
		return err
	}
	interner.intern(names)
	// The recent rows of each step, in key order, to merge with its compacted rows.
	byStep := map[int64][]stateRow{}
	for k, r := range recent {
		byStep[k.step] = append(byStep[k.step], r)
	}
	ids := slices.SortedFunc(maps.Keys(names), func(a, b int64) int { return strings.Compare(names[a], names[b]) })
	var raw *rawConn
	if path != "" && len(ids) > 0 {
		raw = openRaw(path)
		defer raw.close()
	}
	r.chunk = st.buffer()
	taken := 0 // rows of compacted taken, over the steps
	for _, id := range ids {
		rec := byStep[id]
		slices.SortFunc(rec, func(a, b stateRow) int { return cmp.Compare(a.key, b.key) })
		r.step, r.name, r.rec, r.n, r.last, r.refused = id, names[id], rec, 0, "", false
		if err := r.scanCompacted(db, raw); err != nil {
			return err
		}
		taken += r.n
		for _, row := range r.rec {
			if !r.emitRecent(row) {
				return errStopped
			}
		}
	}
	// A row whose step is not a known step's id (a damaged value, of any type) is in no
	// step's scan: counted, it is found rather than lost.
	var all int
	if err := db.QueryRow(`SELECT count(*) FROM compacted`).Scan(&all); err != nil {
		return err
	}
	if all != taken {
		return invalidError{fmt.Errorf("compacted holds %d rows, %d of them of known steps", all, taken)}
	}
	if len(r.chunk) > 0 && !st.send(r.chunk) {
		return errStopped
	}
	return nil
}

// partReader is the state of readPart: where it is in a step's rows, and the chunk it
// fills for the merge.
type partReader struct {
	st    *partStream
	names map[int64]string
	sum   summer
	arena stateArena
	keys  keyArena
	chunk []loadRow

	// The step being read.
	step int64
	name string
	rec  []stateRow // its recent rows not yet emitted, in key order
	n    int        // its compacted rows emitted (or overridden by a recent row)
	last string     // the key of the last of them

	stopped bool // the merge has stopped: a send failed
	refused bool // a row of the step was refused (take)
}

// emit hands a row on to the merge; false when the merge has stopped.
func (r *partReader) emit(key string, state []byte) bool {
	r.chunk = append(r.chunk, loadRow{r.name, key, state})
	if len(r.chunk) == chunkRows {
		if !r.st.send(r.chunk) {
			r.stopped = true
			return false
		}
		r.chunk = r.st.buffer()
	}
	return true
}

// emitRecent hands on a recent row, unless it is a deletion.
func (r *partReader) emitRecent(row stateRow) bool {
	return row.deleted || r.emit(row.key, nonNil(row.state))
}

// compacted takes in the next compacted row of the step, sound and in key order, after
// the recent rows before its key; a recent row of its key overrides it. key and state
// may be SQLite's memory, which its next row reuses: they are copied.
func (r *partReader) compacted(key string, state []byte) bool {
	for len(r.rec) > 0 && r.rec[0].key < key {
		if !r.emitRecent(r.rec[0]) {
			return false
		}
		r.rec = r.rec[1:]
	}
	r.n++
	if len(r.rec) > 0 && r.rec[0].key == key {
		row := r.rec[0]
		r.rec, r.last = r.rec[1:], row.key
		return r.emitRecent(row)
	}
	r.last = r.keys.copy(key)
	return r.emit(r.last, r.arena.copy(state))
}

// scanCompacted reads the step's rows of compacted in key order: on raw, the reader's own
// connection, when it has one (see rawscan.go), else by SQLite itself, which hands each
// row to weir_load (see loadRow) as views of its memory. Read into Go through
// database/sql, each row's four columns cost a call into SQLite apiece, each taking the
// connection's mutex, and database/sql's conversions; that was most of the store's time
// in a resume of many keys. A row either does not take (a column of another type than
// the store writes, a wrong checksum, a key out of order), and an error of SQLite's on
// raw, leaves the step's remaining rows to scanCompactedRows, for exactly the rows and
// errors it always gave.
func (r *partReader) scanCompacted(db *sql.DB, raw *rawConn) error {
	if raw != nil {
		switch {
		case r.rawScan(raw):
			return nil
		case r.stopped:
			return errStopped
		}
		loadFallbacks.Add(1)
		return r.scanCompactedRows(db)
	}
	h := loadScans.add(r)
	defer loadScans.remove(h)
	var n int64
	// compacted holds no deletions: collection drops them. A table WITHOUT ROWID is stored
	// in its primary key's order, (step, key): the rows of a step come in key order.
	err := db.QueryRow(`SELECT count(*) FROM compacted WHERE step = ?2 AND `+loadFunc+`(?1, key, epoch, state, crc)`, h, r.step).Scan(&n)
	switch {
	case r.stopped:
		return errStopped
	case r.refused:
		loadFallbacks.Add(1)
		return r.scanCompactedRows(db)
	case err != nil:
		return err
	case n != int64(r.n):
		return fmt.Errorf("weir: recovery: %d rows of step %q counted, %d loaded", n, r.name, r.n)
	}
	return nil
}

// scanCompactedRows reads the step's rows of compacted after the first r.n, through
// database/sql, checking each: the slow path of scanCompacted, for the row it refused.
func (r *partReader) scanCompactedRows(db *sql.DB) error {
	rows, err := db.Query(`SELECT key, epoch, state, crc FROM compacted WHERE step = ? ORDER BY key`, r.step)
	if err != nil {
		return err
	}
	defer rows.Close()
	row := stateRow{step: r.step}
	var raw sql.RawBytes
	for skip := r.n; rows.Next(); {
		if skip > 0 {
			skip--
			continue
		}
		if err := rows.Scan(&row.key, &row.epoch, &raw, &row.crc); err != nil {
			return err
		}
		row.state = raw
		if err := row.check(&r.sum, r.names); err != nil {
			return err
		}
		if !r.compacted(row.key, raw) {
			return errStopped
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return rows.Err()
}

// loadFallbacks counts the scans scanCompacted left to scanCompactedRows, for tests.
var loadFallbacks atomic.Int64

// loadFunc is weir_load(scan, key, epoch, state, crc), which gives a row of compacted to
// the partReader registered as scan (loadScans), and is true when it took it.
const loadFunc = "weir_load"

func init() {
	sqlite.MustRegisterFunction(loadFunc, &sqlite.FunctionImpl{
		NArgs: 5,
		// partReader.compacted copies what it keeps.
		VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			r := loadScans.get(args[0])
			if r == nil || !r.loadRow(args[1:]) {
				return nil, errRowRefused
			}
			return true, nil
		},
	})
}

// loadRow takes in a row of compacted (key, epoch, state, crc) as weir_load has it, if it
// is of the types the store writes, in key order and sound; false stops the scan.
func (r *partReader) loadRow(args []driver.Value) bool {
	key, ok1 := args[0].(string)
	epoch, ok2 := args[1].(int64)
	state, ok3 := args[2].([]byte)
	crc, ok4 := args[3].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		r.refused = true
		return false
	}
	return r.take(key, epoch, state, crc)
}

// take takes in a row of compacted of the types the store writes, if it is in key order
// and sound; false stops the scan (r.refused set when the row was refused).
func (r *partReader) take(key string, epoch int64, state []byte, crc int64) bool {
	if epoch < 0 || (r.n > 0 && key <= r.last) || r.sum.state(r.name, key, uint64(epoch), state, false) != crc {
		r.refused = true
		return false
	}
	return r.compacted(key, state)
}

// errRowRefused is weir_load's error for a row it did not take, which ends its query.
var errRowRefused = errors.New("weir: recovery: row refused by " + loadFunc)

// loadScans are the partReaders weir_load gives rows to, by a number each scan passes it.
var loadScans = scanRegistry{m: map[int64]*partReader{}}

type scanRegistry struct {
	mu   sync.RWMutex
	m    map[int64]*partReader
	next int64
}

func (g *scanRegistry) add(r *partReader) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next++
	g.m[g.next] = r
	return g.next
}

func (g *scanRegistry) remove(h int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.m, h)
}

func (g *scanRegistry) get(h driver.Value) *partReader {
	n, _ := h.(int64)
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.m[n]
}

// errStopped ends a partition's reader when the merge has stopped, and the merge when a
// reader has failed.
var errStopped = errors.New("weir: recovery: load stopped")
