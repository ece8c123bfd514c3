package kafka

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/weirflow/weir/source"
)

// A resume position comes from the recovery store, which a damaged disk or another
// program's directory may fill with anything: the source's Build takes any position and
// partition name without a panic, refusing what it cannot read with an error of the
// package's, and a position it takes is an offset.
func FuzzSourcePosition(f *testing.F) {
	f.Add("t/0", []byte{})
	f.Add("t/3", []byte{0x96, 0x01})
	f.Add("t/0", []byte{0xff})
	f.Add("t/0", []byte{1, 2})
	f.Add("t", []byte(nil))
	f.Add("a/b/-1", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	src := NewSource([]string{"127.0.0.1:1"}, []string{"t"})
	f.Fuzz(func(t *testing.T, name string, resume []byte) {
		p, err := src.Build(context.Background(), source.Part{Step: "f.in", Partition: name, Workers: 1}, resume)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "weir: kafka: ") {
				t.Fatalf("Build(%q, %x): %v: not the package's error", name, resume, err)
			}
			return
		}
		defer p.Close()
		part := p.(*partition)
		// A varint of more bytes than it needs (ff 00 for 127) is taken: the offset is
		// the same, and only a damaged store would hold it, which its checksums catch.
		if len(resume) > 0 {
			if part.from < 0 || part.from > 1<<62 {
				t.Fatalf("Build(%q, %x) took offset %d", name, resume, part.from)
			}
		} else if part.from != -1 {
			t.Fatalf("Build(%q) without a position starts at %d, not at the start policy's offset", name, part.from)
		}
		if part.topic == "" || !strings.HasPrefix(name, part.topic+"/") || part.num < 0 {
			t.Fatalf("partition %q read as topic %q, number %d", name, part.topic, part.num)
		}
	})
}

// A Kafka sink's snapshot comes from the recovery store too: any bytes decode without a
// panic, to errBadSnapshot or to a snapshot that encodes to bytes that decode to it again.
func FuzzSinkSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add(sinkSnapshot{base: "weir-f.out-0", slots: 2, pending: []pendingTxn{{slot: 1, epoch: 7, pid: 1000, pepoch: 3}}}.encode())
	f.Add(sinkSnapshot{slots: 1}.encode())
	f.Add([]byte{snapshotVersion, 0xff})
	f.Add([]byte{snapshotVersion + 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSinkSnapshot(b)
		if err != nil {
			if !errors.Is(err, errBadSnapshot) {
				t.Fatalf("decode %x: %v, want errBadSnapshot", b, err)
			}
			return
		}
		again, err := decodeSinkSnapshot(s.encode())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("decode %x: %+v, encoded and decoded again: %+v (%v)", b, s, again, err)
		}
	})
}
