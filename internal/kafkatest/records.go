package kafkatest

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce writes recs, each to its Topic, with an idempotent producer that partitions by
// key (franz-go's default: records of one key go to one partition, in order), and returns
// once every one is acknowledged. A record whose Partition is to be kept instead needs
// ProduceTo.
func Produce(ctx context.Context, addrs []string, recs ...*kgo.Record) error {
	return produce(ctx, addrs, nil, recs)
}

// ProduceTo writes recs as Produce does, each to the partition it names.
func ProduceTo(ctx context.Context, addrs []string, recs ...*kgo.Record) error {
	return produce(ctx, addrs, []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}, recs)
}

func produce(ctx context.Context, addrs []string, opts []kgo.Opt, recs []*kgo.Record) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ProducerBatchMaxBytes(1 << 20)}, opts...)...)
	if err != nil {
		return fmt.Errorf("kafkatest: producer: %w", err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("kafkatest: produce: %w", err)
	}
	return nil
}

// ProduceN writes n records made by rec(i), i from 0 to n-1, to topic, partitioned by key
// as Produce does.
func ProduceN(ctx context.Context, addrs []string, topic string, n int, rec func(i int) *kgo.Record) error {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = rec(i)
		recs[i].Topic = topic
	}
	return Produce(ctx, addrs, recs...)
}

// ReadCommitted reads topic from the start of each partition to its last stable offset,
// as a read_committed consumer sees it at the call: the records of committed
// transactions and of no transaction, never those of aborted ones nor of any still open.
// The records come partition by partition, each partition's in offset order.
func ReadCommitted(ctx context.Context, addrs []string, topic string) ([]*kgo.Record, error) {
	return read(ctx, addrs, topic, true)
}

// ReadAll reads topic from the start of each partition to its end as a read_uncommitted
// consumer sees it: every record written, in transactions aborted or open too.
func ReadAll(ctx context.Context, addrs []string, topic string) ([]*kgo.Record, error) {
	return read(ctx, addrs, topic, false)
}

func read(ctx context.Context, addrs []string, topic string, committed bool) ([]*kgo.Record, error) {
	admc, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return nil, fmt.Errorf("kafkatest: client: %w", err)
	}
	adm := kadm.NewClient(admc)
	defer admc.Close()
	list := adm.ListEndOffsets
	if committed {
		list = adm.ListCommittedOffsets // the last stable offsets
	}
	ends, err := list(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafkatest: list the end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("kafkatest: list the start offsets of %s: %w", topic, err)
	}
	// A partition is read once a record at its end offset - 1 has come. The transaction
	// markers take offsets too and a committed transaction's last one ends a partition, so
	// the consumer keeps them and drops them here.
	left := map[int32]int64{}
	from := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > s.Offset {
			left[o.Partition] = o.Offset
			from[o.Partition] = kgo.NewOffset().At(s.Offset)
		}
	})
	var out []*kgo.Record
	if len(left) == 0 {
		return out, nil
	}
	opts := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.KeepControlRecords(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: consumer: %w", err)
	}
	defer cl.Close()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("kafkatest: read %s: %d partitions short of their end: %w", topic, len(left), err)
		}
		if err := fs.Err(); err != nil {
			return nil, fmt.Errorf("kafkatest: read %s: %w", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return // past the end as it was listed
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if r.Offset >= end-1 {
				delete(left, r.Partition)
			}
		})
	}
	slices.SortStableFunc(out, func(a, b *kgo.Record) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
	})
	return out, nil
}
