package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// fuzzRows are the rows FuzzStoredRow damages, one per table: the statement's %s is the
// column, its WHERE picks one row (most tables have no rowid to pick by).
var fuzzRows = []struct {
	table string
	cols  []string
	where string
}{
	{"snapshots", []string{"epoch", "step", "key", "state", "crc"}, `rowid = (SELECT max(rowid) FROM snapshots)`},
	{"compacted", []string{"step", "key", "epoch", "state", "crc"}, `(step, key) = (SELECT step, key FROM compacted ORDER BY key LIMIT 1)`},
	{"frontiers", []string{"execution", "worker", "epoch", "final", "crc"}, `(execution, worker) = (SELECT execution, worker FROM frontiers LIMIT 1)`},
	{"executions", []string{"number", "workers", "resume", "began_at", "crc"}, `number = (SELECT max(number) FROM executions)`},
	{"steps", []string{"id", "name", "crc"}, `id = (SELECT min(id) FROM steps)`},
	{"meta", []string{"name", "value", "crc"}, `name = (SELECT name FROM meta ORDER BY name LIMIT 1 OFFSET %d)`},
	{"commits", []string{"epoch", "at", "crc"}, `epoch = (SELECT max(epoch) FROM commits)`},
}

// fuzzStore is a 2-partition store of one execution that wrote epochs 1 and 2, as written
// (plain) and collected (its rows moved to compacted), and what each resumes with.
type fuzzStore struct {
	dir  string
	want map[string]string // step and key: state
}

// resumeAll opens dir, begins an execution and loads every state, as a resume does, then
// checks every row.
func resumeAll(dir string) (map[string]string, error) {
	s, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if _, err := s.Begin(1); err != nil {
		return nil, err
	}
	got := map[string]string{}
	err = s.Load(func(step, key string, st []byte) error {
		got[step+"\x00"+key] = string(st)
		return nil
	})
	if err == nil {
		err = s.Check()
	}
	return got, err
}

// isDamage reports one of the typed errors of a damaged store: a partition corrupt, or
// not of this weir's format, or one that does not fit the others (a frontier moved to
// another execution reads as a partition left behind).
func isDamage(err error) bool {
	var (
		ce *state.CorruptError
		ie *state.InconsistentError
		fe *state.FormatError
		me *state.MissingPartitionsError
	)
	return errors.As(err, &ce) || errors.As(err, &ie) || errors.As(err, &fe) || errors.As(err, &me)
}

// FuzzStoredRow sets one column of one row of a store's partition to any value of any
// SQLite type, as a damaged disk, another tool or another program's file would have it,
// and resumes. The store must give the typed error of a damaged store, or resume with
// exactly the states it was written with: never a panic, another error or a wrong state.
func FuzzStoredRow(f *testing.F) {
	f.Add(false, uint8(0), uint8(0), uint8(0), uint8(0), int64(1), []byte("x"))
	f.Add(true, uint8(1), uint8(1), uint8(3), uint8(2), int64(0), []byte("x"))
	f.Add(false, uint8(0), uint8(5), uint8(1), uint8(1), int64(-1), []byte{})
	f.Add(false, uint8(1), uint8(2), uint8(2), uint8(3), int64(math.MaxInt64), []byte(nil))
	f.Add(false, uint8(1), uint8(3), uint8(1), uint8(4), int64(7), []byte("1.5"))
	f.Add(true, uint8(0), uint8(4), uint8(1), uint8(1), int64(2), []byte("s"))
	f.Add(false, uint8(0), uint8(6), uint8(0), uint8(0), int64(-5), []byte("9"))
	root, err := os.MkdirTemp("", "weir-fuzz-rows")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { os.RemoveAll(root) })
	// The stores live in root, so they are made again for each run of the target
	// (go test -count=2 runs it twice, and the first run's cleanup removes them).
	var (
		fuzzStoresOnce sync.Once
		fuzzStores     [2]fuzzStore
		fuzzStoresErr  error
	)
	f.Fuzz(func(t *testing.T, collected bool, part, table, col, kind uint8, i int64, b []byte) {
		fuzzStoresOnce.Do(func() {
			for k, collect := range []bool{false, true} {
				dir := filepath.Join(root, fmt.Sprint(k))
				initT(t, dir, 2)
				fill(t, dir, 1, 2)
				if collect {
					s := openT(t, dir)
					if fuzzStoresErr = s.GC(0); fuzzStoresErr != nil {
						return
					}
					s.Close()
				}
				fuzzStores[k].dir = dir
				if fuzzStores[k].want, fuzzStoresErr = resumeAll(dir); fuzzStoresErr != nil {
					return
				}
			}
		})
		if fuzzStoresErr != nil {
			t.Fatal(fuzzStoresErr)
		}
		from := fuzzStores[0]
		if collected {
			from = fuzzStores[1]
		}
		// Not under t.TempDir: a fuzz test's name has a '#', which ends the path of a
		// file: URI.
		dir, err := os.MkdirTemp(root, "damaged")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		p := int(part % 2)
		if err := os.CopyFS(dir, os.DirFS(from.dir)); err != nil {
			t.Fatal(err)
		}
		row := fuzzRows[int(table)%len(fuzzRows)]
		column := row.cols[int(col)%len(row.cols)]
		where := row.where
		if row.table == "meta" {
			where = fmt.Sprintf(where, i&3)
		}
		var v any
		switch kind % 5 {
		case 0:
			v = i
		case 1:
			v = string(b)
		case 2:
			v = b
		case 3:
			v = nil
		case 4:
			v = float64(i) / 3
		}
		db, err := sql.Open("sqlite", "file:"+state.PartitionPath(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s`, row.table, column, where), v)
		db.Close()
		if err != nil {
			if c := sqliteCode(err); c != 19 && c != 20 { // SQLITE_CONSTRAINT, SQLITE_MISMATCH
				t.Fatal(err)
			}
			return // SQLite refused the value: nothing changed
		}
		// A damaged store must not hang a resume: the fuzzer has no time limit of its own
		// per input, so a hang would pass as an input that is slow.
		hang := time.AfterFunc(20*time.Second, func() {
			panic(fmt.Sprintf("%s.%s = %#v in partition %d: the resume hangs", row.table, column, v, p))
		})
		defer hang.Stop()
		got, err := resumeAll(dir)
		if err != nil {
			if !isDamage(err) {
				t.Fatalf("%s.%s = %#v in partition %d: %v (%T), want an error of a damaged store", row.table, column, v, p, err, err)
			}
			return
		}
		if !maps.Equal(got, from.want) {
			t.Fatalf("%s.%s = %#v in partition %d: resumed with %d states, not the %d written, and no error",
				row.table, column, v, p, len(got), len(from.want))
		}
	})
}
