package weirtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

var part = source.Part{Step: "flow.in", Partition: "weirtest", Worker: 0, Workers: 1}

// drain calls Next until the partition ends or aborts, recording each call's result as
// "[items]", "eof", "abort" or "pause" (an empty batch while a pause lasts), and
// sleeping out pauses: run it inside synctest when the script pauses.
func drain[T any](t *testing.T, p source.Partition[T]) []string {
	t.Helper()
	var got []string
	for range 1000 {
		items, err := p.Next(context.Background())
		if len(items) > 0 {
			got = append(got, fmt.Sprint(items))
		}
		switch {
		case err == io.EOF:
			return append(got, "eof")
		case errors.Is(err, source.ErrAbort):
			return append(got, "abort")
		case err != nil:
			t.Fatalf("Next: %v", err)
		case len(items) == 0:
			got = append(got, "pause")
			wake := p.(source.Awaker).NextAwake()
			if wake.IsZero() {
				t.Fatalf("empty batch without a wake-up time")
			}
			time.Sleep(time.Until(wake))
		}
	}
	t.Fatalf("partition never ended; got %v", got)
	return nil
}

func build[T any](t *testing.T, s *weirtest.Source[T], resume []byte) source.Partition[T] {
	t.Helper()
	p, err := s.Build(context.Background(), part, resume)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return p
}

func TestSourceNext(t *testing.T) {
	tests := []struct {
		name string
		src  *weirtest.Source[int]
		want []string
	}{
		{"empty", weirtest.NewSource[int](), []string{"eof"}},
		{"default batch of one", weirtest.NewSource(1, 2, 3), []string{"[1]", "[2]", "[3]", "eof"}},
		{"batch of two", weirtest.NewSource(1, 2, 3).BatchSize(2), []string{"[1 2]", "[3]", "eof"}},
		{"batch larger than script", weirtest.NewSource(1, 2, 3).BatchSize(10), []string{"[1 2 3]", "eof"}},
		{"batch size below one", weirtest.NewSource(1, 2).BatchSize(0), []string{"[1]", "[2]", "eof"}},
		{"then appends", weirtest.NewSource(1).Then(2, 3).BatchSize(5), []string{"[1 2 3]", "eof"}},
		{"batch stops at EOF", weirtest.NewSource(1, 2).EOF().Then(3).BatchSize(10), []string{"[1 2]", "eof"}},
		{"batch stops at abort", weirtest.NewSource(1, 2).Abort().Then(3).BatchSize(10), []string{"[1 2]", "abort"}},
		{"leading abort", weirtest.NewSource[int]().Abort().Then(1), []string{"abort"}},
		{"batch stops at pause", weirtest.NewSource(1, 2).Pause(time.Second).Then(3, 4).BatchSize(10),
			[]string{"[1 2]", "pause", "[3 4]", "eof"}},
		{"pause at the end", weirtest.NewSource(1).Pause(time.Second), []string{"[1]", "pause", "eof"}},
		{"two pauses", weirtest.NewSource[int]().Pause(time.Second).Pause(time.Second).Then(1),
			[]string{"pause", "pause", "[1]", "eof"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := drain(t, build(t, tt.src, nil))
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestSourcePauseWaitsItsTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := build(t, weirtest.NewSource(1).Pause(time.Minute).Then(2), nil)
		ctx := context.Background()
		aw := p.(source.Awaker)
		if items, err := p.Next(ctx); !slices.Equal(items, []int{1}) || err != nil || !aw.NextAwake().IsZero() {
			t.Fatalf("first Next = %v, %v, awake %v; want [1], nil, zero", items, err, aw.NextAwake())
		}
		start := time.Now()
		if items, err := p.Next(ctx); len(items) != 0 || err != nil {
			t.Fatalf("Next at the pause = %v, %v; want an empty batch", items, err)
		}
		if got, want := aw.NextAwake(), start.Add(time.Minute); !got.Equal(want) {
			t.Fatalf("NextAwake = %v, want %v", got, want)
		}
		// Polled early, the partition keeps waiting.
		time.Sleep(59 * time.Second)
		if items, err := p.Next(ctx); len(items) != 0 || err != nil || !aw.NextAwake().Equal(start.Add(time.Minute)) {
			t.Fatalf("early Next = %v, %v, awake %v; want an empty batch, still waiting", items, err, aw.NextAwake())
		}
		time.Sleep(time.Second)
		if items, err := p.Next(ctx); !slices.Equal(items, []int{2}) || err != nil || !aw.NextAwake().IsZero() {
			t.Fatalf("Next after the pause = %v, %v, awake %v; want [2], nil, zero", items, err, aw.NextAwake())
		}
	})
}

// TestSourceResume runs a script as successive runs would: each run builds the partition
// from the previous run's last snapshot.
func TestSourceResume(t *testing.T) {
	tests := []struct {
		name string
		src  *weirtest.Source[int]
		runs [][]string
	}{
		{"EOF splits runs", weirtest.NewSource(1, 2).EOF().Then(3).EOF().Then(4).BatchSize(5),
			[][]string{{"[1 2]", "eof"}, {"[3]", "eof"}, {"[4]", "eof"}, {"eof"}}},
		{"adjacent EOFs", weirtest.NewSource[int]().EOF().EOF(),
			[][]string{{"eof"}, {"eof"}, {"eof"}}},
		{"abort fires once", weirtest.NewSource(1).Abort().Then(2),
			[][]string{{"[1]", "abort"}, {"[2]", "eof"}}},
		{"each abort fires once", weirtest.NewSource(1).Abort().Abort().Then(2),
			[][]string{{"[1]", "abort"}, {"abort"}, {"[2]", "eof"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resume []byte
			for i, want := range tt.runs {
				p := build(t, tt.src, resume)
				if got := drain(t, p); !slices.Equal(got, want) {
					t.Fatalf("run %d: got %v, want %v", i+1, got, want)
				}
				resume = p.Snapshot()
			}
		})
	}
}

func TestSourceAbortSkippedFromStart(t *testing.T) {
	// Without recovery a second run starts over, and still goes past the fired Abort.
	src := weirtest.NewSource(1).Abort().Then(2)
	if got, want := drain(t, build(t, src, nil)), []string{"[1]", "abort"}; !slices.Equal(got, want) {
		t.Fatalf("first run: got %v, want %v", got, want)
	}
	if got, want := drain(t, build(t, src, nil)), []string{"[1]", "[2]", "eof"}; !slices.Equal(got, want) {
		t.Fatalf("second run: got %v, want %v", got, want)
	}
}

func TestSourceBuildErrors(t *testing.T) {
	src := weirtest.NewSource(1, 2)
	tests := []struct {
		name   string
		part   string
		resume []byte
		want   string
	}{
		{"truncated varint", "weirtest", []byte{0x80}, "corrupt resume position"},
		{"trailing bytes", "weirtest", []byte{1, 0}, "corrupt resume position"},
		{"past the end", "weirtest", []byte{3}, "corrupt resume position"},
		{"empty", "weirtest", []byte{}, "corrupt resume position"},
		{"unknown partition", "other", nil, `unknown partition "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := src.Build(context.Background(), source.Part{Partition: tt.part}, tt.resume)
			if err == nil || !strings.HasPrefix(err.Error(), "weir: weirtest: ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := src.Build(context.Background(), part, []byte{2}); err != nil {
		t.Fatalf("resume at the end: %v", err)
	}
}

func TestSourcePartitions(t *testing.T) {
	got, err := weirtest.NewSource(1).Partitions(context.Background())
	if err != nil || !slices.Equal(got, []string{"weirtest"}) {
		t.Fatalf("Partitions = %v, %v; want [weirtest]", got, err)
	}
}
