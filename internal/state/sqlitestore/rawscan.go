package sqlitestore

import (
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// A run's Load reads each step's rows of compacted on a connection of its reader's own,
// through SQLite's C API as modernc translates it to Go (modernc.org/sqlite/lib), rather
// than through weir_load. The driver calls a Go function of SQL with its arguments boxed in
// a []driver.Value: each row's key, state and checksum were an allocation apiece, with a
// lock, a pool and a deferred call around them, 0.2 s of CPU of a resume of 1M keys (its
// readers' third) before the state was even looked at, and 3M objects for the collector.
// Here each column is a view of SQLite's memory read by one call, and nothing is
// allocated but the copies the reader keeps (keyArena, stateArena).
//
// The connection is a reader's alone and opened read-only, on the same SQLite (the
// library's locks and shared memory are the driver's), with the run's memory mapping.
// Anything it cannot do (open, prepare, an error of a step) and any row it does not take
// (see take) leaves the step's remaining rows to scanCompactedRows, through database/sql,
// for exactly the errors a load always gave. A directory read without the lock (Read) is
// loaded through weir_load, as its files may be read-only or immutable.

// rawConn is a read-only connection to a partition and its statement reading a step's rows
// of compacted in key order.
type rawConn struct {
	tls  *libc.TLS
	db   uintptr // sqlite3*
	stmt uintptr // sqlite3_stmt* of rawScanSQL
}

// rawScanSQL reads a step's rows of compacted: a table WITHOUT ROWID is stored in its
// primary key's order, (step, key), so the rows come in key order without a sort.
const rawScanSQL = "SELECT key, epoch, state, crc FROM compacted WHERE step = ?1 ORDER BY key"

// openRaw opens the partition file path for rawScan, or returns nil when it cannot.
func openRaw(path string) *rawConn { return openRawQuery(path, rawScanSQL) }

// openRawQuery opens the partition file path read-only with query prepared, or returns
// nil when it cannot.
func openRawQuery(path, query string) *rawConn {
	c := &rawConn{tls: libc.NewTLS()}
	var ok bool
	c.db, ok = openC(c.tls, path, readOnly, sqlite3.SQLITE_OPEN_READONLY)
	if ok && execC(c.tls, c.db, "PRAGMA mmap_size=1073741824") && execC(c.tls, c.db, "PRAGMA busy_timeout=10000") {
		c.stmt, ok = prepareC(c.tls, c.db, query, 0)
		if ok {
			return c
		}
	}
	c.close()
	return nil
}

// openC opens the partition file path through SQLite's C API, as the driver opens it in
// mode, with flags (SQLITE_OPEN_READONLY or SQLITE_OPEN_READWRITE; never CREATE: the
// partition exists, and a missing one must not be made) and without SQLite's mutexes,
// as one goroutine at a time uses the connection. It returns the connection's handle,
// which may be set even when it reports false, for closing.
func openC(tls *libc.TLS, path string, mode openMode, flags int32) (db uintptr, ok bool) {
	db, rc, ok := withOut(tls, dsn(path, mode), func(name, out uintptr) int32 {
		return sqlite3.Xsqlite3_open_v2(tls, name, out, flags|sqlite3.SQLITE_OPEN_NOMUTEX|sqlite3.SQLITE_OPEN_URI, 0)
	})
	return db, ok && rc == sqlite3.SQLITE_OK
}

// prepareC prepares query on the connection db with SQLite's prepare flags, returning the
// statement's handle.
func prepareC(tls *libc.TLS, db uintptr, query string, flags uint32) (stmt uintptr, ok bool) {
	stmt, rc, ok := withOut(tls, query, func(q, out uintptr) int32 {
		return sqlite3.Xsqlite3_prepare_v3(tls, db, q, -1, flags, out, 0)
	})
	return stmt, ok && rc == sqlite3.SQLITE_OK && stmt != 0
}

// withOut calls fn with s as a C string and a zeroed slot for the handle fn makes (a
// sqlite3** or sqlite3_stmt**), and returns the handle and fn's result; ok is false when
// the memory for them could not be had, and fn was not called.
func withOut(tls *libc.TLS, s string, fn func(cs, out uintptr) int32) (handle uintptr, rc int32, ok bool) {
	cs, err := libc.CString(s)
	if err != nil {
		return 0, 0, false
	}
	defer libc.Xfree(tls, cs)
	out := libc.Xcalloc(tls, 1, 8)
	if out == 0 {
		return 0, 0, false
	}
	defer libc.Xfree(tls, out)
	rc = fn(cs, out)
	return *(*uintptr)(cPtr(out)), rc, true
}

// execC runs sql, which returns no rows or whose rows are ignored (a pragma's), on the
// connection db.
func execC(tls *libc.TLS, db uintptr, sql string) bool {
	q, err := libc.CString(sql)
	if err != nil {
		return false
	}
	defer libc.Xfree(tls, q)
	return sqlite3.Xsqlite3_exec(tls, db, q, 0, 0, 0) == sqlite3.SQLITE_OK
}

// close closes c; c may be nil.
func (c *rawConn) close() {
	if c == nil {
		return
	}
	if c.stmt != 0 {
		sqlite3.Xsqlite3_finalize(c.tls, c.stmt)
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	c.tls.Close()
}

// rawScan reads the step's rows of compacted on c, as scanCompacted does, into r. It
// returns false when it left the step's rows from the r.n-th on to scanCompactedRows (an
// error of SQLite's, or a row refused); r.stopped tells that the merge has stopped.
func (r *partReader) rawScan(c *rawConn) bool {
	tls, stmt := c.tls, c.stmt
	defer sqlite3.Xsqlite3_reset(tls, stmt) // ends the read transaction
	if sqlite3.Xsqlite3_bind_int64(tls, stmt, 1, r.step) != sqlite3.SQLITE_OK {
		return false
	}
	for {
		switch sqlite3.Xsqlite3_step(tls, stmt) {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			return true
		default:
			return false
		}
		// The types the store writes, looked at before any column is read: reading one
		// as another would convert it.
		if sqlite3.Xsqlite3_column_type(tls, stmt, 0) != sqlite3.SQLITE_TEXT ||
			sqlite3.Xsqlite3_column_type(tls, stmt, 1) != sqlite3.SQLITE_INTEGER ||
			sqlite3.Xsqlite3_column_type(tls, stmt, 2) != sqlite3.SQLITE_BLOB ||
			sqlite3.Xsqlite3_column_type(tls, stmt, 3) != sqlite3.SQLITE_INTEGER {
			r.refused = true
			return false
		}
		key := c.text(0)
		epoch := sqlite3.Xsqlite3_column_int64(tls, stmt, 1)
		state := c.blob(2)
		crc := sqlite3.Xsqlite3_column_int64(tls, stmt, 3)
		if !r.take(key, epoch, state, crc) {
			return false
		}
	}
}

// text is column i of c's current row, a TEXT, as a view of SQLite's memory, valid until
// the statement steps or is reset. The pointer is asked for before the length, as
// SQLite's docs ask.
func (c *rawConn) text(i int32) string {
	p := sqlite3.Xsqlite3_column_text(c.tls, c.stmt, i)
	return unsafe.String((*byte)(cPtr(p)), int(sqlite3.Xsqlite3_column_bytes(c.tls, c.stmt, i)))
}

// blob is column i of c's current row, a BLOB, as text is; nil when it is empty.
func (c *rawConn) blob(i int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(c.tls, c.stmt, i)
	if p == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(cPtr(p)), int(sqlite3.Xsqlite3_column_bytes(c.tls, c.stmt, i)))
}

// cPtr is the address p of memory SQLite allocated, outside Go's heap (modernc's libc
// allocates its own), as a pointer: the collector ignores it, and it does not move.
func cPtr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
