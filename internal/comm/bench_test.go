package comm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// item is a small item, as a keyed count sends.
type item struct {
	Key string
	N   int64
}

// fastCodec is the kind of codec a user registers for an item type: the count, then per
// item the key's length and bytes and N's 8 bytes. Keys decode as strings into the
// batch's own bytes, which the mesh gives each batch.
type fastCodec struct{}

func (fastCodec) AppendEncode(dst []byte, b any) ([]byte, error) {
	s := b.([]item)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	for i := range s {
		dst = binary.AppendUvarint(dst, uint64(len(s[i].Key)))
		dst = append(dst, s[i].Key...)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s[i].N))
	}
	return dst, nil
}

var errShort = errors.New("fastCodec: short batch")

func (fastCodec) Decode(data []byte) (any, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return nil, errShort
	}
	data = data[k:]
	s := make([]item, n)
	for i := range s {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l+8 {
			return nil, errShort
		}
		if l > 0 {
			s[i].Key = unsafe.String(&data[k], int(l))
		}
		data = data[k+int(l):]
		s[i].N = int64(binary.LittleEndian.Uint64(data))
		data = data[8:]
	}
	return s, nil
}

func (fastCodec) Bytes(b any) int {
	s := b.([]item)
	n := cap(s) * int(unsafe.Sizeof(item{}))
	for i := range s {
		n += len(s[i].Key)
	}
	return n
}

// cborCodec is the default codec's way: the batch as a CBOR array of its items.
type cborCodec struct{ fastCodec }

func (cborCodec) AppendEncode(dst []byte, b any) ([]byte, error) {
	out, err := cbor.Marshal(b.([]item))
	return append(dst, out...), err
}

func (cborCodec) Decode(data []byte) (any, error) {
	var s []item
	err := cbor.Unmarshal(data, &s)
	return s, err
}

// BenchmarkTCPItems sends batches of small items from one process's worker to another's
// over loopback: encode at Send, the frames, the connection, decode, Receive and Done,
// paced by credit as the engine is. Items/s is the rate of one process pair.
func BenchmarkTCPItems(b *testing.B) {
	for _, c := range []struct {
		name  string
		codec Codec
	}{{"fast", fastCodec{}}, {"cbor", cborCodec{}}} {
		for _, size := range []int{256, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", c.name, size), func(b *testing.B) { benchItems(b, c.codec, size) })
		}
	}
}

func benchItems(b *testing.B, codec Codec, size int) {
	const limit = 64 << 20
	meshes := cluster(b, 2, 1, func(c *ClusterConfig) {
		c.Codecs[1] = codec
		c.Limit, c.Initial = limit, 64<<10
		c.HeartbeatTimeout = 10 * 1e9
	})
	m0, m1 := meshes[0], meshes[1]
	m0.Report(0, 0, limit)
	m1.Report(1, 0, limit)
	batch := make([]item, size)
	for i := range batch {
		batch[i] = item{Key: fmt.Sprintf("key-%d", i%1000), N: int64(i)}
	}
	bytes := codec.Bytes(batch)
	want := 0
	done := make(chan int)
	total := make(chan int, 1)
	go func() {
		got, sum, want := 0, int64(0), -1
		var msgs []Message
		for got != want {
			select {
			case <-m1.Wake(1):
			case want = <-total:
			}
			msgs = m1.Receive(1, msgs[:0])
			for _, m := range msgs {
				for _, it := range m.Batch.([]item) {
					sum += it.N
				}
				got += len(m.Batch.([]item))
				m1.Done(1, m.Bytes)
			}
		}
		done <- int(sum)
	}()
	b.ResetTimer()
	for b.Loop() {
		for m0.Credit(0, 1) <= 0 {
			<-m0.Wake(0)
		}
		m0.Send(1, Message{Edge: 1, From: 0, Epoch: 1, Batch: batch, Bytes: bytes})
		want += size
	}
	total <- want
	<-done
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "items/s")
	b.StopTimer()
	leaveAll(meshes)
}
