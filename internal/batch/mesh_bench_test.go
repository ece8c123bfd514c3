package batch_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/comm"
)

// Items as a keyed count sends them between processes, with a codec registered for one
// type (as recovery.RegisterCodec does) and the default CBOR for the other; and KV[int],
// the partial counts a keyed count sends, in the built-in Plain codec.
type (
	regItem struct {
		Key string
		N   int64
	}
	cborItem struct {
		Key string
		N   int64
	}
)

type regItemCodec struct{}

func (regItemCodec) Encode(v regItem) ([]byte, error) {
	b := make([]byte, 0, 10+len(v.Key)+8)
	b = binary.AppendUvarint(b, uint64(len(v.Key)))
	b = append(b, v.Key...)
	return binary.LittleEndian.AppendUint64(b, uint64(v.N)), nil
}

func (regItemCodec) Decode(b []byte) (regItem, error) {
	l, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) != l+8 {
		return regItem{}, errors.New("regItemCodec: bad item")
	}
	return regItem{Key: string(b[k : k+int(l)]), N: int64(binary.LittleEndian.Uint64(b[k+int(l):]))}, nil
}

func init() { codec.Register("bench-item", regItemCodec{}) }

// BenchmarkMeshItems sends batches of small items from a worker of one process to a
// worker of another over loopback, through the engine's path: the batch operations'
// encoding (a registered codec, or CBOR), the TCP mesh's frames and credit, decoding,
// Receive and Done. items/s is one process pair's rate.
func BenchmarkMeshItems(b *testing.B) {
	b.Run("registered", func(b *testing.B) {
		benchMesh(b, batch.NewOps[regItem](), func(i int) regItem { return regItem{fmt.Sprintf("key-%d", i%1000), int64(i)} })
	})
	b.Run("plain KV[int]", func(b *testing.B) {
		benchMesh(b, batch.NewOps[weir.KV[int]](), func(i int) weir.KV[int] { return weir.KV[int]{Key: fmt.Sprintf("key-%d", i%1000), Value: i} })
	})
	b.Run("cbor", func(b *testing.B) {
		benchMesh(b, batch.NewOps[cborItem](), func(i int) cborItem { return cborItem{fmt.Sprintf("key-%d", i%1000), int64(i)} })
	})
}

func benchMesh[T any](b *testing.B, ops *batch.Ops[T], make1 func(int) T) {
	const size, limit = 1024, 64 << 20
	var addrs []string
	var lns []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns, addrs = append(lns, l), append(addrs, l.Addr().String())
	}
	meshes := make([]*comm.TCP, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for p := range 2 {
		wg.Go(func() {
			meshes[p], errs[p] = comm.Join(context.Background(), comm.ClusterConfig{
				Process: p, Addresses: addrs, Workers: 1, Fingerprint: "bench " + addrs[0],
				Limit: limit, Initial: limit, Codecs: []comm.Codec{ops}, Listener: lns[p],
				HeartbeatTimeout: 10 * time.Second})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	m0, m1 := meshes[0], meshes[1]
	defer func() {
		wg.Go(func() { m0.Leave(nil) })
		m1.Leave(nil)
		wg.Wait()
	}()
	m0.Report(0, 0, limit)
	m1.Report(1, 0, limit)
	items := make([]T, size)
	for i := range items {
		items[i] = make1(i)
	}
	bytes := ops.Bytes(items)
	sent := 0
	total := make(chan int, 1) // the items sent, once sending is over
	got := make(chan int)
	go func() {
		n, want := 0, -1
		var msgs []comm.Message
		for n != want {
			select {
			case <-m1.Wake(1):
			case want = <-total:
			case <-time.After(time.Millisecond):
			}
			msgs = m1.Receive(1, msgs[:0])
			for _, m := range msgs {
				n += ops.Len(m.Batch)
				m1.Done(1, m.Bytes)
			}
		}
		got <- n
	}()
	start := time.Now()
	for b.Loop() {
		for m0.Credit(0, 1) <= 0 {
			<-m0.Wake(0)
		}
		m0.Send(1, comm.Message{Edge: 0, From: 0, Epoch: 1, Batch: items, Bytes: bytes})
		sent += size
	}
	total <- sent
	n := <-got // the rate is of items delivered
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "items/s")
}
