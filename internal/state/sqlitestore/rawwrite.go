package sqlitestore

import (
	"fmt"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// A worker's write to a partition goes through SQLite's C API as modernc translates it
// (modernc.org/sqlite/lib), on a connection of the partition's own (rawWriter), rather
// than through database/sql. Through database/sql every value a row binds was boxed in
// an interface, converted, and copied by the driver into memory it allocated from SQLite's
// allocator (a lock each) and freed again, a parameter at a time: 3.26 allocations a row,
// and 100-104 ms of CPU for a write of 100k rows to 4 partitions (BenchmarkEpochCycle).
// Here the statements are prepared once; the rows of an epoch's step go rowsPerInsert at a
// time through one statement that takes their epoch and step once (sharedRows, as before:
// stepping a single-row INSERT per row cost 57-61 ms, its start and end more than the
// row), the rest row by row; each row's key and state are copied into one buffer of
// SQLite's memory that the writer keeps, never bound from Go's (SQLite must not hold a
// pointer the collector does not know of, and -race's pointer checks refuse one), and
// nothing is allocated: 34-41 ms.
//
// The connection is the same kind the driver opens: read-write, on the same SQLite, with
// the same pragmas (busy timeout, WAL, synchronous FULL, the cache and the mapping), and
// its transaction is the one the driver's was: BEGIN IMMEDIATE, the rows, the worker's
// frontier and the commit time, COMMIT, which in WAL mode with synchronous FULL syncs the
// log before it returns, so that the rows and the frontier that makes them count become
// durable together or not at all. It writes only under the partition's lock
// (stepIDs.mu), which collection holds too, so the two never wait for each other in
// SQLite's busy handler. It is opened without SQLite's mutexes, as one goroutine at a
// time uses it.
//
// A writer that cannot be opened (or prepared) leaves the write to the database/sql path
// (writeTx), which then meets and reports whatever is wrong; an error of SQLite's during
// the write is a *rawError carrying SQLite's code, which classify types as it types the
// driver's, and the transaction is rolled back and the connection closed (the next write
// opens another).

// rawWriter is a read-write connection to a partition with the statements of a write.
type rawWriter struct {
	tls *libc.TLS
	db  uintptr // sqlite3*
	// The prepared statements (sqlite3_stmt*), see writerSQL.
	stmts [nWriterStmts]uintptr
	// buf is memory of SQLite's allocator, of size n, holding the keys and states of the
	// rows bound to the statement being stepped.
	buf uintptr
	n   int
	// steps counts the statements stepped (a test's measure of how rows are batched).
	steps int
}

// The statements of a write, by index in rawWriter.stmts.
const (
	wBegin = iota
	wCommit
	wRollback
	wRow
	wRows
	wFrontier
	wCommitTime
	wNextStep
	wAddStep
	nWriterStmts
)

var writerSQL = [nWriterStmts]string{
	wBegin:    "BEGIN IMMEDIATE",
	wCommit:   "COMMIT",
	wRollback: "ROLLBACK",
	// A write retried after a failure may repeat rows; readers take a key's last row.
	wRow:        "INSERT INTO snapshots (epoch, step, key, state, crc) VALUES (?1, ?2, ?3, ?4, ?5)",
	wRows:       sharedRows(rowsPerInsert),
	wFrontier:   "INSERT OR REPLACE INTO frontiers (execution, worker, epoch, final, crc) VALUES (?1, ?2, ?3, ?4, ?5)",
	wCommitTime: "INSERT OR IGNORE INTO commits (epoch, at, crc) VALUES (?1, ?2, ?3)",
	wNextStep:   "SELECT coalesce(max(id), 0) + 1 FROM steps",
	wAddStep:    "INSERT INTO steps (id, name, crc) VALUES (?1, ?2, ?3)",
}

// writerPragmas are the driver's pragmas of a read-write partition (dsn), in the order it
// runs them: the busy timeout first, the rest by name.
var writerPragmas = []string{
	"PRAGMA busy_timeout=10000",
	"PRAGMA cache_size=-65536",
	"PRAGMA journal_mode=WAL",
	"PRAGMA mmap_size=1073741824",
	"PRAGMA synchronous=FULL",
}

// rawError is an error SQLite returned to a rawWriter.
type rawError struct {
	code int // extended result code
	msg  string
}

func (e *rawError) Error() string { return e.msg }

// openWriter opens the partition file path for writing, or returns nil when it cannot.
func openWriter(path string) *rawWriter {
	w := &rawWriter{tls: libc.NewTLS()}
	var ok bool
	w.db, ok = openC(w.tls, path, readWrite, sqlite3.SQLITE_OPEN_READWRITE)
	if ok {
		sqlite3.Xsqlite3_extended_result_codes(w.tls, w.db, 1)
		for _, p := range writerPragmas {
			ok = ok && execC(w.tls, w.db, p)
		}
	}
	for i, q := range writerSQL {
		if !ok {
			break
		}
		w.stmts[i], ok = prepareC(w.tls, w.db, q, sqlite3.SQLITE_PREPARE_PERSISTENT)
	}
	if !ok {
		w.close()
		return nil
	}
	return w
}

// close closes w; w may be nil. A transaction left open is rolled back by SQLite.
func (w *rawWriter) close() {
	if w == nil {
		return
	}
	for _, s := range w.stmts {
		if s != 0 {
			sqlite3.Xsqlite3_finalize(w.tls, s)
		}
	}
	if w.db != 0 {
		sqlite3.Xsqlite3_close_v2(w.tls, w.db)
	}
	if w.buf != 0 {
		sqlite3.Xsqlite3_free(w.tls, w.buf)
	}
	w.tls.Close()
}

// err is the error of SQLite's result rc, as the driver spells it.
func (w *rawWriter) err(rc int32) error {
	str := libc.GoString(sqlite3.Xsqlite3_errstr(w.tls, rc))
	msg := libc.GoString(sqlite3.Xsqlite3_errmsg(w.tls, w.db))
	if msg == str || msg == "" {
		return &rawError{code: int(rc), msg: fmt.Sprintf("%s (%d)", str, rc)}
	}
	return &rawError{code: int(rc), msg: fmt.Sprintf("%s: %s (%d)", str, msg, rc)}
}

// run steps statement i to its end and resets it, keeping its bindings.
func (w *rawWriter) run(i int) error {
	_, err := w.query(i)
	return err
}

// query steps statement i once and resets it, keeping its bindings, and returns the first
// column of the row it gave, if it gave one (wNextStep's).
func (w *rawWriter) query(i int) (int64, error) {
	s := w.stmts[i]
	w.steps++
	var v int64
	rc := sqlite3.Xsqlite3_step(w.tls, s)
	switch rc {
	case sqlite3.SQLITE_ROW:
		v = sqlite3.Xsqlite3_column_int64(w.tls, s, 0)
		rc = sqlite3.SQLITE_OK
	case sqlite3.SQLITE_DONE:
		rc = sqlite3.SQLITE_OK
	default:
		rc = sqlite3.Xsqlite3_extended_errcode(w.tls, w.db)
	}
	// reset repeats a failed step's error: the step's is the one kept.
	sqlite3.Xsqlite3_reset(w.tls, s)
	if rc != sqlite3.SQLITE_OK {
		return 0, w.err(rc)
	}
	return v, nil
}

// bindInt binds v to parameter p of statement i.
func (w *rawWriter) bindInt(i int, p int32, v int64) error {
	if rc := sqlite3.Xsqlite3_bind_int64(w.tls, w.stmts[i], p, v); rc != sqlite3.SQLITE_OK {
		return w.err(rc)
	}
	return nil
}

// room makes w.buf hold at least n bytes.
func (w *rawWriter) room(n int) error {
	if n <= w.n {
		return nil
	}
	n = max(n, 2*w.n, 4096)
	p := sqlite3.Xsqlite3_realloc64(w.tls, w.buf, uint64(n))
	if p == 0 {
		return w.err(sqlite3.SQLITE_NOMEM)
	}
	w.buf, w.n = p, n
	return nil
}

// bindRows binds the keys, states (NULL when deleted) and checksums of rows to statement
// i (wRow, or wRows with len(rows) == rowsPerInsert), whose epoch and step are bound, the
// first row's parameters numbered 3 to 5, the next's 6 to 8 and so on. Keys and states
// are copied into w.buf, which SQLite reads when the statement steps.
func (w *rawWriter) bindRows(i int, rows []row, sum *summer) error {
	n := 1
	for j := range rows {
		n += len(rows[j].c.Key) + len(rows[j].c.State)
	}
	if err := w.room(n); err != nil {
		return err
	}
	b := unsafe.Slice((*byte)(cPtr(w.buf)), w.n)
	s, tls := w.stmts[i], w.tls
	off := 0
	for j := range rows {
		r := &rows[j]
		key, st := r.c.Key, r.c.State
		p := int32(3 + 3*j)
		// Static: w.buf outlives the step. A pointer that is not null even for an empty
		// value: a null one binds NULL.
		copy(b[off:], key)
		rc := sqlite3.Xsqlite3_bind_text64(tls, s, p, w.buf+uintptr(off), uint64(len(key)), 0, sqlite3.SQLITE_UTF8)
		off += len(key)
		if rc == sqlite3.SQLITE_OK {
			if r.c.Deleted {
				rc = sqlite3.Xsqlite3_bind_null(tls, s, p+1)
			} else {
				copy(b[off:], st)
				rc = sqlite3.Xsqlite3_bind_blob64(tls, s, p+1, w.buf+uintptr(off), uint64(len(st)), 0)
				off += len(st)
			}
		}
		if rc == sqlite3.SQLITE_OK {
			rc = sqlite3.Xsqlite3_bind_int64(tls, s, p+2, sum.state(r.step, key, r.epoch, st, r.c.Deleted))
		}
		if rc != sqlite3.SQLITE_OK {
			return w.err(rc)
		}
	}
	return nil
}

// bindText binds name to parameter p of statement i, as a copy SQLite makes.
func (w *rawWriter) bindText(i int, p int32, name string) error {
	if err := w.room(len(name) + 1); err != nil {
		return err
	}
	copy(unsafe.Slice((*byte)(cPtr(w.buf)), w.n), name)
	// SQLITE_TRANSIENT: a copy, as w.buf is the rows' too.
	if rc := sqlite3.Xsqlite3_bind_text64(w.tls, w.stmts[i], p, w.buf, uint64(len(name)), ^uintptr(0), sqlite3.SQLITE_UTF8); rc != sqlite3.SQLITE_OK {
		return w.err(rc)
	}
	return nil
}

// addStep records step under a new id, one past the greatest, and returns it.
func (w *rawWriter) addStep(step string) (int64, error) {
	id, err := w.query(wNextStep) // one past the greatest
	if err == nil {
		err = w.bindInt(wAddStep, 1, id)
	}
	if err == nil {
		err = w.bindText(wAddStep, 2, step)
	}
	if err == nil {
		err = w.bindInt(wAddStep, 3, sumStep(id, step))
	}
	if err == nil {
		err = w.run(wAddStep)
	}
	return id, err
}

// rollback ends the transaction a failed write left open, if SQLite has not already.
func (w *rawWriter) rollback() {
	if sqlite3.Xsqlite3_get_autocommit(w.tls, w.db) == 0 {
		w.run(wRollback)
	}
}

// write writes rows, the worker's frontier and the commit time in one transaction, as
// writeTx does; ids gives a step's id, and takes in the steps it adds.
func (w *rawWriter) write(rows []row, ids writeIDs, fr frontierRow, committed uint64, now int64) (err error) {
	if err := w.run(wBegin); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.rollback()
		}
		// The rows' keys and states stay bound to w.buf, which SQLite does not read again.
		sqlite3.Xsqlite3_clear_bindings(w.tls, w.stmts[wRow])
		sqlite3.Xsqlite3_clear_bindings(w.tls, w.stmts[wRows])
	}()
	var sum summer
	for i := 0; i < len(rows); {
		epoch, step := rows[i].epoch, rows[i].step
		sid, ok := ids.of(step)
		if !ok {
			// The id is chosen here rather than by SQLite, as the checksum covers it.
			if sid, err = w.addStep(step); err != nil {
				return err
			}
			ids.added[step] = sid
		}
		j := i + 1
		for j < len(rows) && rows[j].epoch == epoch && rows[j].step == step {
			j++
		}
		// The run of rows of one epoch and step, rowsPerInsert at a time, then row by row:
		// in order, which keeps each key's rows in epoch order by rowid.
		for _, st := range [...]int{wRows, wRow} {
			k := 1
			if st == wRows {
				k = rowsPerInsert
				if j-i < k {
					continue
				}
			}
			if err := w.bindInt(st, 1, int64(epoch)); err != nil {
				return err
			}
			if err := w.bindInt(st, 2, sid); err != nil {
				return err
			}
			for ; i+k <= j; i += k {
				if err := w.bindRows(st, rows[i:i+k], &sum); err != nil {
					return err
				}
				if err := w.run(st); err != nil {
					return err
				}
			}
		}
	}
	for p, v := range [...]int64{fr.exec, int64(fr.worker), int64(fr.next), boolInt(fr.final),
		sumFrontier(fr.exec, int64(fr.worker), fr.next, fr.final)} {
		if err := w.bindInt(wFrontier, int32(p+1), v); err != nil {
			return err
		}
	}
	if err := w.run(wFrontier); err != nil {
		return err
	}
	// Recorded one write late, which only makes garbage collection more careful.
	for p, v := range [...]int64{int64(committed), now, sumCommit(committed, now)} {
		if err := w.bindInt(wCommitTime, int32(p+1), v); err != nil {
			return err
		}
	}
	if err := w.run(wCommitTime); err != nil {
		return err
	}
	return w.run(wCommit)
}

// frontierRow is the frontier row a write records.
type frontierRow struct {
	exec   int64
	worker int
	next   uint64
	final  bool
}
