package nexmark_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/weirflow/weir/internal/bench/nexmark"
	"github.com/weirflow/weir/source"
)

// At 1000 events per second each event has its own millisecond, so a test can tell an
// event's number from its time.
func msConfig(events int64) nexmark.Config {
	c := nexmark.DefaultConfig()
	c.Rate = 1000
	c.Events = events
	return c
}

func number(c nexmark.Config, e nexmark.Event) int64 { return e.Time() - c.BaseTime }

func same(a, b nexmark.Event) bool {
	switch {
	case a.Person != nil:
		return b.Person != nil && *a.Person == *b.Person
	case a.Auction != nil:
		return b.Auction != nil && *a.Auction == *b.Auction
	case a.Bid != nil:
		return b.Bid != nil && *a.Bid == *b.Bid
	}
	return false
}

func build(t *testing.T, s *nexmark.Source, name string, resume []byte) source.Partition[nexmark.Event] {
	t.Helper()
	p, err := s.Build(context.Background(), source.Part{Partition: name}, resume)
	if err != nil {
		t.Fatalf("Build(%q): %v", name, err)
	}
	return p
}

// readAll reads a partition to its end, checking every event against Config.Event, and
// returns the event numbers in the order read.
func readAll(t *testing.T, c nexmark.Config, p source.Partition[nexmark.Event]) []int64 {
	t.Helper()
	var got []int64
	for range 1_000_000 {
		batch, err := p.Next(context.Background())
		for _, e := range batch {
			n := number(c, e)
			if !same(e, c.Event(n)) {
				t.Fatalf("event %d = %+v, want %+v", n, e, c.Event(n))
			}
			got = append(got, n)
		}
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("no end of stream")
	return nil
}

// readTogether reads partitions in turn, as a worker polls its partitions, to their ends,
// and returns each one's event numbers in the order read.
func readTogether(t *testing.T, c nexmark.Config, parts []source.Partition[nexmark.Event]) [][]int64 {
	t.Helper()
	got := make([][]int64, len(parts))
	done := make([]bool, len(parts))
	for left := len(parts); left > 0; {
		for i, p := range parts {
			if done[i] {
				continue
			}
			batch, err := p.Next(context.Background())
			for _, e := range batch {
				n := number(c, e)
				if !same(e, c.Event(n)) {
					t.Fatalf("event %d = %+v, want %+v", n, e, c.Event(n))
				}
				got[i] = append(got[i], n)
			}
			switch {
			case errors.Is(err, io.EOF):
				done[i] = true
				left--
			case err != nil:
				t.Fatal(err)
			}
		}
	}
	return got
}

// TestSourcePace checks that a partition read alone stops MaxLead blocks ahead of the
// others, with empty batches, and goes on once they catch up.
func TestSourcePace(t *testing.T) {
	c := msConfig(0)
	s := nexmark.NewSource(c, 2).BatchSize(10)
	names, _ := s.Partitions(context.Background())
	a, b := build(t, s, names[0], nil), build(t, s, names[1], nil)
	reads := 0
	for {
		batch, err := a.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		reads++
	}
	// Partition 0 reads blocks 0, 2, 4...: it stops once its next block is more than
	// MaxLead past partition 1's next one, block 1.
	if want := (nexmark.MaxLead + 1 + 1) / 2; reads != want {
		t.Errorf("partition 0 read %d batches alone, want %d", reads, want)
	}
	for range 10 {
		if _, err := b.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if batch, _ := a.Next(context.Background()); len(batch) == 0 {
		t.Error("partition 0 still held back after partition 1 read on")
	}
}

func TestSourceUnion(t *testing.T) {
	tests := []struct {
		events      int64
		parts, size int
	}{
		{1, 1, 1024}, {1, 3, 1024}, {1000, 1, 1024}, {2500, 2, 1024},
		{2500, 3, 100}, {2500, 7, 1}, {999, 4, 50}, {1000, 4, 50}, {1001, 4, 50},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d events %d parts batch %d", tt.events, tt.parts, tt.size), func(t *testing.T) {
			c := msConfig(tt.events)
			s := nexmark.NewSource(c, tt.parts).BatchSize(tt.size)
			names, _ := s.Partitions(context.Background())
			if len(names) != tt.parts {
				t.Fatalf("%d partitions, want %d", len(names), tt.parts)
			}
			parts := make([]source.Partition[nexmark.Event], len(names))
			for i, name := range names {
				parts[i] = build(t, s, name, nil)
			}
			seen := make([]int, tt.events)
			for i, got := range readTogether(t, c, parts) {
				for j, n := range got {
					// Blocks are dealt in turn and read in order.
					if block := int(n) / tt.size; block%tt.parts != i || (j > 0 && n <= got[j-1]) {
						t.Fatalf("partition %d read event %d (after %v)", i, n, got[max(j-1, 0):j])
					}
					seen[n]++
				}
			}
			for n, k := range seen {
				if k != 1 {
					t.Fatalf("event %d read %d times", n, k)
				}
			}
		})
	}
}

// TestSourceResume snapshots a partition after each batch, rebuilds it from the
// snapshot and checks that it goes on with the same events as a partition never stopped.
func TestSourceResume(t *testing.T) {
	c := msConfig(5000)
	s := nexmark.NewSource(c, 3).BatchSize(64)
	for _, name := range []string{"0", "1", "2"} {
		want := readAll(t, c, build(t, s, name, nil))
		for stop := range 10 {
			p := build(t, s, name, nil)
			var got []int64
			for range stop {
				batch, _ := p.Next(context.Background())
				for _, e := range batch {
					got = append(got, number(c, e))
				}
			}
			got = append(got, readAll(t, c, build(t, s, name, p.Snapshot()))...)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("partition %s resumed after %d batches: %v, want %v", name, stop, got, want)
			}
		}
		// A partition at its end resumes at its end.
		p := build(t, s, name, nil)
		readAll(t, c, p)
		if rest := readAll(t, c, build(t, s, name, p.Snapshot())); len(rest) != 0 {
			t.Fatalf("partition %s resumed at its end read %v", name, rest)
		}
	}
}

func TestSourceBuildErrors(t *testing.T) {
	s := nexmark.NewSource(msConfig(1000), 2).BatchSize(10)
	pos := func(n uint64) []byte { return binary.AppendUvarint(nil, n) }
	tests := []struct {
		name, part string
		resume     []byte
		want       string
	}{
		{"unknown partition", "2", nil, `unknown partition "2"`},
		{"not a number", "x", nil, `unknown partition "x"`},
		{"truncated", "0", []byte{0x80}, `partition "0": corrupt resume position`},
		{"trailing bytes", "0", append(pos(5), 0), `partition "0": corrupt resume position`},
		{"another partition's block", "1", pos(5), `partition "1": corrupt resume position`},
		{"past the end", "0", pos(1040), `partition "0": corrupt resume position`},
		{"huge", "0", pos(1 << 63), `partition "0": corrupt resume position`},
	}
	for _, tt := range tests {
		_, err := s.Build(context.Background(), source.Part{Partition: tt.part}, tt.resume)
		if err == nil || !strings.HasPrefix(err.Error(), "weir: nexmark source: ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Build = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	if _, err := nexmark.NewSource(nexmark.Config{}, 1).Build(context.Background(), source.Part{Partition: "0"}, nil); err == nil {
		t.Error("Build with the zero Config succeeded")
	}
	// The last valid positions still build.
	for _, n := range []uint64{0, 9, 1000, 1009} {
		if _, err := s.Build(context.Background(), source.Part{Partition: "0"}, pos(n)); err != nil {
			t.Errorf("resume at %d: %v", n, err)
		}
	}
}

func TestSourceUnbounded(t *testing.T) {
	c := msConfig(0)
	p := build(t, nexmark.NewSource(c, 2).BatchSize(100), "1", nil)
	next := int64(100)
	for range 50 {
		batch, err := p.Next(context.Background())
		if err != nil || len(batch) != 100 || number(c, batch[0]) != next {
			t.Fatalf("batch from %d: %d events, %v", next, len(batch), err)
		}
		next += 200
	}
}

func TestSourcePartitionNames(t *testing.T) {
	for _, tt := range []struct {
		parts int
		want  string
	}{{0, "[0]"}, {1, "[0]"}, {3, "[0 1 2]"}, {11, "[00 01 02 03 04 05 06 07 08 09 10]"}} {
		names, err := nexmark.NewSource(nexmark.DefaultConfig(), tt.parts).Partitions(context.Background())
		if err != nil || fmt.Sprint(names) != tt.want {
			t.Errorf("%d partitions: %v %v, want %s", tt.parts, names, err, tt.want)
		}
	}
}

func ExampleConfig_Event() {
	c := nexmark.DefaultConfig()
	p := c.Event(0).Person
	fmt.Println(p.ID, p.Name, p.EmailAddress, p.City, p.State)
	a := c.Event(1).Auction
	fmt.Println(a.ID, a.ItemName, a.Seller, a.Category, a.InitialBid)
	b := c.Event(4).Bid
	fmt.Println(b.Auction, b.Bidder, b.Price, nexmark.Millis(b.DateTime).Format("2006-01-02 15:04:05"))
	// Output:
	// 1000 Peter Jones nhd@xcat.com Portland WY
	// 1000 wkx mgee 1000 13 28873
	// 1000 1001 32530001 2023-11-14 22:13:20
}
