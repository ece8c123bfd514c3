package comm

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

var frames = []Frame{
	{Kind: FrameBatch, Edge: 3, From: 1, To: 4, Epoch: 17, Payload: []byte("a batch")},
	{Kind: FrameBatch, Edge: 0, From: 0, To: 0, Epoch: 1},
	{Kind: FrameMarker, Edge: 9, From: 2, To: 1, Epoch: ^uint64(0)},
	{Kind: FrameCredit, From: 5, To: 2, Epoch: 64 << 10},
	{Kind: FrameHeartbeat, From: 7},
}

func TestFrameRoundTrip(t *testing.T) {
	var stream []byte
	for _, f := range frames {
		stream = AppendFrame(stream, f)
	}
	r := bytes.NewReader(stream)
	var buf []byte
	for i, want := range frames {
		got, b, err := ReadFrame(r, 1<<20, buf)
		buf = b
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Kind != want.Kind || got.Edge != want.Edge || got.From != want.From || got.To != want.To ||
			got.Epoch != want.Epoch || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("frame %d: got %+v, want %+v", i, got, want)
		}
	}
	if _, _, err := ReadFrame(r, 1<<20, buf); err != io.EOF {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameRefused(t *testing.T) {
	good := AppendFrame(nil, frames[0])
	with := func(i int, b byte) []byte {
		c := bytes.Clone(good)
		c[i] = b
		return c
	}
	tests := []struct {
		name  string
		in    []byte
		limit int
		want  error
	}{
		{"another version", with(0, 2), 1 << 20, ErrFrameVersion},
		{"unknown kind", with(1, 0), 1 << 20, ErrFrameKind},
		{"unknown kind above", with(1, byte(frameLastKind)+1), 1 << 20, ErrFrameKind},
		{"payload over the limit", good, 3, ErrFrameTooLarge},
		{"length past the limit, huge", with(25, 0xff), 1 << 20, ErrFrameTooLarge},
		{"flipped header bit", with(14, good[14]^1), 1 << 20, ErrFrameChecksum},
		{"flipped payload bit", with(frameHeader+2, good[frameHeader+2]^0x10), 1 << 20, ErrFrameChecksum},
		{"flipped checksum bit", with(len(good)-1, good[len(good)-1]^0x80), 1 << 20, ErrFrameChecksum},
		{"cut in the payload", good[:frameHeader+3], 1 << 20, io.ErrUnexpectedEOF},
		{"cut in the header", good[:5], 1 << 20, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadFrame(bytes.NewReader(tt.in), tt.limit, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			var fe *FrameError
			if errors.As(err, &fe) && fe.Detail == "" {
				t.Errorf("%v: no detail", err)
			}
		})
	}
}

// FuzzReadFrame: any bytes give a frame or an error, never a panic or an allocation past
// the limit, and a frame read encodes back to the bytes it came from.
func FuzzReadFrame(f *testing.F) {
	for _, fr := range frames {
		f.Add(AppendFrame(nil, fr))
	}
	f.Add([]byte{FrameVersion, byte(FrameBatch), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 16
		r := bytes.NewReader(in)
		fr, buf, err := ReadFrame(r, limit, nil)
		if cap(buf) > limit+frameTrailer {
			t.Fatalf("buffer of %d bytes for a limit of %d", cap(buf), limit)
		}
		if err != nil {
			return
		}
		used := len(in) - r.Len()
		if again := AppendFrame(nil, fr); !bytes.Equal(again, in[:used]) {
			t.Fatalf("frame %+v encodes to %x, read from %x", fr, again, in[:used])
		}
	})
}

// BenchmarkFrame frames a 64 KiB batch and reads it back: the cost framing adds to a
// batch that crosses processes (the checksum, a copy in and out).
func BenchmarkFrame(b *testing.B) {
	payload := bytes.Repeat([]byte("weir"), 16<<10)
	var stream, buf []byte
	r := bytes.NewReader(nil)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		stream = AppendFrame(stream[:0], Frame{Kind: FrameBatch, Edge: 1, From: 2, To: 3, Epoch: 4, Payload: payload})
		r.Reset(stream)
		var err error
		if _, buf, err = ReadFrame(r, 1<<20, buf); err != nil {
			b.Fatal(err)
		}
	}
}
