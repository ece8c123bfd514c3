package sqlitestore

import (
	"cmp"
	"database/sql"
	"database/sql/driver"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Collection checks every snapshot row it moves or drops (see checkRowsBelow). Read into
// Go through database/sql, each row cost more than SQLite's moving it: the driver copies
// the key and the state, and database/sql converts every column. The function
// weir_state_ok lets SQLite check the rows itself, handing the columns to Go as views of
// its own memory: a scan that finds every row sound needs nothing else, and one that does
// not is read again in Go for the exact error (see checkFast).
const stateOKFunc = "weir_state_ok"

func init() {
	sqlite.MustRegisterFunction(stateOKFunc, &sqlite.FunctionImpl{
		NArgs:         5,
		Deterministic: true,
		// The arguments are only summed, never kept.
		VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			return stateOK(args), nil
		},
	})
}

var summers = sync.Pool{New: func() any { return new(summer) }}

// stateOK reports whether the columns (step's name, key, epoch, state, crc) of a state row
// are of the types the store writes and agree with the checksum: when it does, the Go
// check of the row (stateRow.check after its scan) passes too.
func stateOK(args []driver.Value) bool {
	name, ok1 := args[0].(string) // NULL when the step id is unknown
	key, ok2 := args[1].(string)
	epoch, ok3 := args[2].(int64)
	crc, ok4 := args[4].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 || epoch < 0 {
		return false
	}
	var st []byte
	switch v := args[3].(type) {
	case nil: // a deletion
	case []byte:
		st = v
		if st == nil {
			st = []byte{}
		}
	default:
		return false
	}
	sum := summers.Get().(*summer)
	ok := sum.state(name, key, uint64(epoch), st, args[3] == nil) == crc
	summers.Put(sum)
	return ok
}

// checkQuery reads the snapshot rows, checking those below epoch ?1 with weir_state_ok
// (a step id without a name fails): how many there are, how many of them are below ?1,
// fail, or are deletions, and the least and greatest epoch below ?1. The rows at ?1 and
// later are the few written since the collection's horizon.
const checkQuery = `SELECT count(*), count(*) FILTER (WHERE s.epoch < ?1),
	coalesce(sum(NOT ` + stateOKFunc + `(steps.name, s.key, s.epoch, s.state, s.crc)) FILTER (WHERE s.epoch < ?1), 0),
	count(*) FILTER (WHERE s.epoch < ?1 AND s.state IS NULL),
	min(s.epoch) FILTER (WHERE s.epoch < ?1), max(s.epoch) FILTER (WHERE s.epoch < ?1)
	FROM snapshots AS s LEFT JOIN steps ON steps.id = s.step`

// below is what collection needs to know of the snapshot rows below its horizon.
type below struct {
	oneEpoch  bool  // those of epoch from or later are all of one epoch (or none)
	all       bool  // they are every row of snapshots
	deletions bool  // some are deletions
	least     int64 // the least epoch among them; -1 when unknown
	// from is the least epoch whose rows collection must move: each row of an epoch
	// below it has a later row of its key below the horizon (a later rowid, as
	// compactLatest orders them), which is what compacted is to hold. It is least
	// unless the check looked for such epochs (see superseded).
	from int64
}

// checkFast checks the snapshot rows below epoch h as checkRowsBelow does, in SQLite with
// weir_state_ok, falling back to checkRowsBelow for the error when a row fails.
func checkFast(tx *sql.Tx, h int64) (below, error) {
	var n, nBelow, bad, dels int64
	var lo, hi sql.NullInt64
	err := tx.QueryRow(checkQuery, h).Scan(&n, &nBelow, &bad, &dels, &lo, &hi)
	if err != nil || bad > 0 {
		oneEpoch, err := checkRowsBelow(tx, h)
		return below{oneEpoch: oneEpoch, deletions: true, least: -1, from: -1}, err
	}
	return below{oneEpoch: lo.Int64 == hi.Int64, all: nBelow == n, deletions: dels > 0, least: lo.Int64, from: lo.Int64}, nil
}

// checkRows is checkFast, reading the rows on a connection of its own through SQLite's C
// API (see rawscan.go) when it can: each row's columns are views of SQLite's memory
// summed in Go, with no call of weir_state_ok, whose arguments the driver boxes one by
// one (most of the check's cost). The connection reads what the partition's last commit
// holds, which is what tx sees: tx has the partition's write lock (it began IMMEDIATE)
// and has changed nothing yet. Anything but a scan that finds every row sound (the
// connection cannot be opened, the steps' names cannot be read, an error of SQLite's, a
// row that fails) goes to checkFast, for exactly the results and errors collection always
// had.
//
// *raw is the connection, opened on path when nil; one that did not find every row sound
// is closed, and *raw set to nil, so that an error of SQLite's leaves nothing behind.
//
// With several epochs below h, track has the scan also find the epochs whose every row is
// superseded (below.from): collection need not move them.
func checkRows(tx *sql.Tx, raw **rawConn, path string, h int64, track bool) (below, error) {
	if *raw == nil {
		*raw = openRawQuery(path, rawCheckSQL)
	}
	if names, err := stepNames(tx); err == nil {
		if b, ok := checkRaw(*raw, h, names, track); ok {
			return b, nil
		}
	}
	(*raw).close()
	*raw = nil
	return checkFast(tx, h)
}

// rawCheckSQL reads every snapshot row. checkRaw names each row's step itself, from the
// few rows of steps read once: joining steps to each row was a search of its table a row,
// and telling the rows below the horizon in SQL another expression (BenchmarkCheckRows:
// 176-188 ns of CPU a row against 232-254).
const rawCheckSQL = `SELECT step, key, epoch, state, crc FROM snapshots`

// rawChecks counts the scans checkRaw completed (a test's hook).
var rawChecks atomic.Int64

// checkRaw checks the snapshot rows below epoch h on c (of rawCheckSQL; nil when it could
// not be opened) as weir_state_ok does, names being the steps' names by id (a row of
// another step id fails), reporting false when it could not tell that every one is sound.
// With track, it also finds the epochs whose rows need not move (see superseded).
func checkRaw(c *rawConn, h int64, names map[int64]string, track bool) (below, bool) {
	if c == nil {
		return below{}, false
	}
	tls, stmt := c.tls, c.stmt
	defer sqlite3.Xsqlite3_reset(tls, stmt) // ends the read transaction
	sum := summers.Get().(*summer)
	defer summers.Put(sum)
	var n, nBelow, dels int64
	var lo, hi int64
	lastStep, lastName := int64(0), ""
	named := false // lastName is lastStep's
	var sup *superseded
	if track {
		sup = newSuperseded(h)
	}
	for {
		switch sqlite3.Xsqlite3_step(tls, stmt) {
		case sqlite3.SQLITE_ROW:
		case sqlite3.SQLITE_DONE:
			rawChecks.Add(1)
			from := lo
			if sup != nil {
				from = sup.from(lo)
			}
			return below{oneEpoch: from == hi, all: nBelow == n, deletions: dels > 0, least: lo, from: from}, true
		default:
			return below{}, false
		}
		n++
		// The types weir_state_ok takes, looked at before any column is read: reading one
		// as another would convert it. A row whose epoch is not an integer is one that
		// checkFast would tell below h or not by SQLite's comparison of types: it decides.
		if sqlite3.Xsqlite3_column_type(tls, stmt, 2) != sqlite3.SQLITE_INTEGER {
			return below{}, false
		}
		epoch := sqlite3.Xsqlite3_column_int64(tls, stmt, 2)
		if epoch >= h {
			continue // at h or later: not collected
		}
		stType := sqlite3.Xsqlite3_column_type(tls, stmt, 3)
		if sqlite3.Xsqlite3_column_type(tls, stmt, 0) != sqlite3.SQLITE_INTEGER ||
			sqlite3.Xsqlite3_column_type(tls, stmt, 1) != sqlite3.SQLITE_TEXT ||
			(stType != sqlite3.SQLITE_BLOB && stType != sqlite3.SQLITE_NULL) ||
			sqlite3.Xsqlite3_column_type(tls, stmt, 4) != sqlite3.SQLITE_INTEGER {
			return below{}, false
		}
		if step := sqlite3.Xsqlite3_column_int64(tls, stmt, 0); !named || step != lastStep {
			name, ok := names[step]
			if !ok {
				return below{}, false // a step id without a name
			}
			lastStep, lastName, named = step, name, true
		}
		key := c.text(1)
		var st []byte
		deleted := stType == sqlite3.SQLITE_NULL
		if !deleted {
			st = c.blob(3)
		}
		crc := sqlite3.Xsqlite3_column_int64(tls, stmt, 4)
		if epoch < 0 || sum.state(lastName, key, uint64(epoch), st, deleted) != crc {
			return below{}, false
		}
		if nBelow == 0 || epoch < lo {
			lo = epoch
		}
		if nBelow == 0 || epoch > hi {
			hi = epoch
		}
		nBelow++
		if deleted {
			dels++
		}
		if sup != nil {
			sup.add(lastStep, key, epoch)
		}
	}
}

// superseded finds, from the rows below a collection's horizon in rowid order, the
// epochs all of whose rows have a later row of their key: when the state's keys are all
// rewritten every epoch (a running aggregate), every epoch but the last. Collecting
// several epochs at once (at the end of a run, or a store that fell behind) then moves
// one row a key, in rowid order, where grouping the rows by key (compactLatest) sorted
// them all first and cost more than moving every epoch's rows: two epochs of 100k rows,
// 339-348 -> 229-258 ms of CPU, one alone 180-192 (BenchmarkCollectTwoEpochs,
// BenchmarkEpochCycle). It keeps a key's identity for each key it has seen, about 90
// bytes: past maxSuperseded keys it gives up, and every epoch moves.
type superseded struct {
	top int64 // the horizon's last epoch, which is never left out
	// last gives each key's slot in latest. A slot, not the epoch's index itself, as
	// assigning to a key already in a map stores the key given, here a view of SQLite's
	// memory: a key is stored once, as a copy, and never assigned again.
	last   map[stepKey]int
	latest []int // the epoch (its index in counts) of each key's latest row so far
	counts []epochRows
	// cur is the index in counts of the epoch of the row before: rows come in runs of one
	// epoch.
	cur int
	off bool // too many keys: every epoch moves
}

// maxSuperseded is the most keys a collection's superseded tracks in a partition, some
// 25 MB.
var maxSuperseded = 1 << 18

type epochRows struct {
	epoch            int64
	rows, superseded int
}

// newSuperseded tracks the rows below the horizon h.
func newSuperseded(h int64) *superseded {
	return &superseded{top: h - 1, last: map[stepKey]int{}, cur: -1}
}

// add counts a row of key at epoch, a view of SQLite's memory copied only when the key
// is new: the row that key had, if any, is superseded. A row of the last epoch is only
// looked up (half the keys taken in, when two epochs are collected): it supersedes, and
// whether it is superseded does not matter, as its epoch moves anyway.
func (s *superseded) add(step int64, key string, epoch int64) {
	if s.off {
		return
	}
	if s.cur < 0 || s.counts[s.cur].epoch != epoch {
		s.cur = slices.IndexFunc(s.counts, func(c epochRows) bool { return c.epoch == epoch })
		if s.cur < 0 {
			s.cur = len(s.counts)
			s.counts = append(s.counts, epochRows{epoch: epoch})
		}
	}
	s.counts[s.cur].rows++
	if i, ok := s.last[stepKey{step, key}]; ok {
		s.counts[s.latest[i]].superseded++
		s.latest[i] = s.cur
	} else if epoch != s.top {
		if len(s.latest) == maxSuperseded {
			*s = superseded{off: true}
			return
		}
		s.last[stepKey{step, strings.Clone(key)}] = len(s.latest)
		s.latest = append(s.latest, s.cur)
	}
}

// from returns the least epoch from lo on that is not wholly superseded, with every
// epoch below it wholly superseded.
func (s *superseded) from(lo int64) int64 {
	if s.off {
		return lo
	}
	slices.SortFunc(s.counts, func(a, b epochRows) int { return cmp.Compare(a.epoch, b.epoch) })
	for i, c := range s.counts {
		if c.superseded < c.rows || i == len(s.counts)-1 {
			return c.epoch
		}
	}
	return lo
}
