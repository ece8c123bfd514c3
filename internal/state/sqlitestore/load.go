package sqlitestore

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Load implements Store. It reads the held partitions at once, each on a goroutine of its
// own: SQLite's work per row is most of what a resume of many keys spends in the store,
// and the partitions share nothing. fn is called on the caller's goroutine, one row at a
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
		wg.Go(func() {
			defer close(st.full)
			if err := readPart(db, resume, &names, st); err != nil && !errors.Is(err, errStopped) {
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

// readPart reads the latest state below resume of every key of one partition into st, in
// the order of Load: the recent rows of snapshots (few, as collection moves them to
// compacted), kept in a map, override the rows of compacted, read a step at a time in key
// order. Every row read is checked.
func readPart(db *sql.DB, resume uint64, interner *stepNameInterner, st *partStream) error {
	names, err := stepNames(db)
	if err != nil {
		return err
	}
	var sum summer
	recent, err := latestRows(db, resume, names, &sum)
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
	var arena stateArena
	chunk := st.buffer()
	emit := func(step string, key string, state []byte) bool {
		chunk = append(chunk, loadRow{step, key, state})
		if len(chunk) == chunkRows {
			if !st.send(chunk) {
				return false
			}
			chunk = st.buffer()
		}
		return true
	}
	for _, id := range ids {
		name := names[id]
		rec := byStep[id]
		slices.SortFunc(rec, func(a, b stateRow) int { return cmp.Compare(a.key, b.key) })
		emitRecent := func(r stateRow) bool {
			return r.deleted || emit(name, r.key, nonNil(r.state))
		}
		// compacted holds no deletions: collection drops them.
		rows, err := db.Query(`SELECT key, epoch, state, crc FROM compacted WHERE step = ? ORDER BY key`, id)
		if err != nil {
			return err
		}
		r := stateRow{step: id}
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&r.key, &r.epoch, &raw, &r.crc); err != nil {
				rows.Close()
				return err
			}
			r.state = raw
			if err := r.check(&sum, names); err != nil {
				rows.Close()
				return err
			}
			for len(rec) > 0 && rec[0].key < r.key {
				if !emitRecent(rec[0]) {
					rows.Close()
					return errStopped
				}
				rec = rec[1:]
			}
			ok := true
			if len(rec) > 0 && rec[0].key == r.key {
				ok = emitRecent(rec[0])
				rec = rec[1:]
			} else {
				ok = emit(name, r.key, arena.copy(raw))
			}
			if !ok {
				rows.Close()
				return errStopped
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range rec {
			if !emitRecent(r) {
				return errStopped
			}
		}
	}
	if len(chunk) > 0 && !st.send(chunk) {
		return errStopped
	}
	return nil
}

// errStopped ends a partition's reader when the merge has stopped, and the merge when a
// reader has failed.
var errStopped = errors.New("weir: recovery: load stopped")
