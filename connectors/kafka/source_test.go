package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// rec is what a test checks of a record read: where it was and its value.
type rec struct {
	Part   string // topic/partition
	Offset int64
	Value  string
}

func recOf(m kafka.Message) rec {
	return rec{fmt.Sprintf("%s/%d", m.Topic, m.Partition), m.Offset, string(m.Value)}
}

// produce writes n records to each of the topic's partitions parts, valued
// "topic/partition:i" from first, and returns them as the source reads them.
func produce(t testing.TB, b *kafkatest.Broker, topic string, parts int32, first, n int) []rec {
	t.Helper()
	var recs []*kgo.Record
	var want []rec
	for p := range parts {
		for i := first; i < first+n; i++ {
			v := fmt.Sprintf("%s/%d:%d", topic, p, i)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v), Key: []byte(fmt.Sprint(i))})
			want = append(want, rec{fmt.Sprintf("%s/%d", topic, p), int64(i), v})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceTo(ctx, b.Addrs(), recs...); err != nil {
		t.Fatal(err)
	}
	return want
}

func sorted(rs []rec) []rec {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b rec) int {
		if a.Part != b.Part {
			if a.Part < b.Part {
				return -1
			}
			return 1
		}
		return int(a.Offset - b.Offset)
	})
	return rs
}

// readAll runs a flow of src into a test sink on workers workers and returns what it read.
func readAll(t *testing.T, src *kafka.Source, workers int, opts ...run.Option) []rec {
	t.Helper()
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, src)
	out := weirtest.NewSink[rec]()
	op.Output("out", op.Map("rec", in, recOf), out)
	weirtest.Run(t, flow, workers, opts...)
	return sorted(out.Items())
}

func TestSourceReadsToEnd(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "read", 4)
	want := produce(t, b, topic, 4, 0, 50)
	for _, workers := range []int{1, 3} {
		got := readAll(t, kafka.NewSource(b.Addrs(), []string{topic}, kafka.BatchSize(7)), workers)
		if !slices.Equal(got, want) {
			t.Fatalf("%d workers: read %d records, want %d: %v", workers, len(got), len(want), got)
		}
	}
}
