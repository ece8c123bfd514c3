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

// checkQuery counts the snapshot rows below epoch ?1 and those of them that fail
// weir_state_ok (a step id without a name included), with their least and greatest epoch.
const checkQuery = `SELECT count(*), coalesce(sum(NOT ` + stateOKFunc + `(steps.name, s.key, s.epoch, s.state, s.crc)), 0),
	min(s.epoch), max(s.epoch)
	FROM snapshots AS s LEFT JOIN steps ON steps.id = s.step WHERE s.epoch < ?1`

// checkFast checks the snapshot rows below epoch h as checkRowsBelow does, in SQLite with
// weir_state_ok, falling back to checkRowsBelow for the error when a row fails. It also
// reports whether the rows are all of one epoch.
func checkFast(tx *sql.Tx, h int64) (oneEpoch bool, err error) {
	var bad, n int64
	var lo, hi sql.NullInt64
	err = tx.QueryRow(checkQuery, h).Scan(&n, &bad, &lo, &hi)
	if err != nil || bad > 0 {
		return checkRowsBelow(tx, h)
	}
	return n == 0 || lo.Int64 == hi.Int64, nil
}
