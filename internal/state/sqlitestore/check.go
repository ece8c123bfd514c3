package sqlitestore

import (
	"database/sql"
	"database/sql/driver"
	"sync"

	"modernc.org/sqlite"
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
	oneEpoch  bool // they are all of one epoch (or none)
	all       bool // they are every row of snapshots
	deletions bool // some are deletions
}

// checkFast checks the snapshot rows below epoch h as checkRowsBelow does, in SQLite with
// weir_state_ok, falling back to checkRowsBelow for the error when a row fails.
func checkFast(tx *sql.Tx, h int64) (below, error) {
	var n, nBelow, bad, dels int64
	var lo, hi sql.NullInt64
	err := tx.QueryRow(checkQuery, h).Scan(&n, &nBelow, &bad, &dels, &lo, &hi)
	if err != nil || bad > 0 {
		oneEpoch, err := checkRowsBelow(tx, h)
		return below{oneEpoch: oneEpoch, deletions: true}, err
	}
	return below{oneEpoch: lo.Int64 == hi.Int64, all: nBelow == n, deletions: dels > 0}, nil
}
