package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/weirflow/weir/internal/state"
)

// A partition of another recovery directory (a file copied from the wrong backup or the
// wrong machine) whose executions happen to line up with the others' would resume with
// that directory's state and exit 0: the frontiers cannot tell. The meta row "origin"
// can: a random number that the first run of a single process (Start) writes to every
// partition that has none, the same in all, so that open can refuse a partition whose
// origin differs from the others'. The processes of a cluster each start on their share
// of the partitions and cannot agree on one without a word between them, so they write
// none: a directory only ever run as a cluster has no origin, and a partition without
// one is taken for any directory's (older weirs wrote none either, and ignore it).

// newOrigin is a random origin: never 0, which stands for none.
func newOrigin() int64 { return rand.Int64N(1<<62) + 1 }

// readOrigin reads a partition's origin, 0 when it has none.
func readOrigin(db *sql.DB) (int64, error) {
	var v, crc int64
	err := db.QueryRow(`SELECT value, crc FROM meta WHERE name = 'origin'`).Scan(&v, &crc)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if crc != sumMeta("origin", v) {
		return 0, &checksumError{row: "meta origin"}
	}
	return v, nil
}

// checkOrigins reads the origins of the partitions dbs (by index) and returns the one
// they share, 0 when none has one. A partition whose origin differs from that of most
// of the others (on a tie, from the lowest partition's) is a *CorruptError.
func checkOrigins(dir string, dbs map[int]*sql.DB) (int64, error) {
	origins := map[int]int64{}
	counts := map[int64]int{}
	var ps []int
	for p, db := range dbs {
		o, err := readOrigin(db)
		if err != nil {
			return 0, classify(dir, p, err, true)
		}
		if o != 0 {
			origins[p] = o
			counts[o]++
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	var origin int64
	for _, p := range ps {
		if o := origins[p]; origin == 0 || counts[o] > counts[origin] {
			origin = o
		}
	}
	var same []int
	for _, p := range ps {
		if origins[p] == origin {
			same = append(same, p)
		}
	}
	for _, p := range ps {
		if origins[p] != origin {
			return 0, &state.CorruptError{Dir: dir, Partition: p,
				Cause: fmt.Errorf("it belongs to another recovery directory than partitions %v: put back this directory's own file", same)}
		}
	}
	return origin, nil
}
