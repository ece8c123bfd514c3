package source_test

import (
	"context"
	"io"
	"testing"

	"github.com/weirflow/weir/source"
)

type sized interface {
	source.Lagger
	source.Sizer
}

// TestExtent checks the Size and Lag of FromSlice's partition (items) and Lines' (bytes)
// before reading, after each batch, at the end, and at a resume position.
func TestExtent(t *testing.T) {
	ctx := context.Background()
	slice := source.FromSlice(1, 2, 3, 4, 5).BatchSize(2)
	text := source.Lines("ab\ncd\r\nef\ng").BatchSize(2)
	for _, tc := range []struct {
		name string
		open func(resume []byte) (p any, next func() error, snap func() []byte)
		size int64
		lags []int64
	}{
		{"slice", func(resume []byte) (any, func() error, func() []byte) {
			p, err := slice.Build(ctx, source.Part{Partition: "slice", Workers: 1}, resume)
			if err != nil {
				t.Fatal(err)
			}
			return p, func() error { _, err := p.Next(ctx); return err }, p.Snapshot
		}, 5, []int64{3, 1, 0}},
		{"lines", func(resume []byte) (any, func() error, func() []byte) {
			p, err := text.Build(ctx, source.Part{Partition: "lines", Workers: 1}, resume)
			if err != nil {
				t.Fatal(err)
			}
			return p, func() error { _, err := p.Next(ctx); return err }, p.Snapshot
		}, 11, []int64{4, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, next, snap := tc.open(nil)
			s, ok := p.(sized)
			if !ok {
				t.Fatalf("%T is not a Lagger and a Sizer", p)
			}
			if size, ok := s.Size(); !ok || size != tc.size {
				t.Errorf("Size() = %d %v, want %d", size, ok, tc.size)
			}
			if lag, ok := s.Lag(); !ok || lag != tc.size {
				t.Errorf("Lag() before reading = %d %v, want %d", lag, ok, tc.size)
			}
			var resume []byte
			for i, want := range tc.lags {
				err := next()
				if err != nil && err != io.EOF {
					t.Fatal(err)
				}
				if lag, _ := s.Lag(); lag != want {
					t.Errorf("Lag() after batch %d = %d, want %d", i+1, lag, want)
				}
				if i == 0 {
					resume = snap()
				}
				if (err == io.EOF) != (i == len(tc.lags)-1) {
					t.Fatalf("batch %d: %v", i+1, err)
				}
			}
			p2, _, _ := tc.open(resume)
			if lag, _ := p2.(sized).Lag(); lag != tc.lags[0] {
				t.Errorf("Lag() at the resume position = %d, want %d", lag, tc.lags[0])
			}
		})
	}
}
