package kafka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// counts is a ValueEncoder of ints as decimal text.
type counts struct{}

func (counts) AppendEncode(b []byte, n int) ([]byte, error) {
	return strconv.AppendInt(b, int64(n), 10), nil
}

// A keyed running count written to a topic exactly once: each epoch's records are
// committed in a transaction once the epoch is in the recovery directory, and a consumer
// reading with read_committed sees each count once, whatever crashes and resumes happen.
func ExampleExactlyOnce() {
	// An in-process broker with a topic "counts" of 2 partitions; in production, the
	// cluster's addresses.
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "counts"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()

	flow := weir.NewDataflow("clicks")
	users := op.Input("in", flow, weirtest.NewSource("ann", "bob", "ann", "ann", "bob"))
	keyed := op.KeyOn("user", users, func(u string) string { return u })
	running := op.StatefulMap("count", keyed, func(st *op.State[int], _ string) int {
		n, _ := st.Get()
		st.Set(n + 1)
		return n + 1
	})
	op.Output("out", running, kafka.NewKVSink[int](brokers, counts{},
		kafka.SinkTopic("counts"), kafka.ExactlyOnce()))

	dir, _ := os.MkdirTemp("", "weir-example")
	defer os.RemoveAll(dir)
	if err := recovery.Init(filepath.Join(dir, "rec"), 1); err != nil {
		fmt.Println(err)
		return
	}
	if err := run.Run(context.Background(), flow, run.Recovery(filepath.Join(dir, "rec"))); err != nil {
		fmt.Println(err)
		return
	}

	// A consumer must read with read_committed (franz-go's default is not).
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("counts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cl.Close()
	// A key's records are in one partition, in order.
	for seen := 0; seen < 5; {
		cl.PollFetches(context.Background()).EachRecord(func(r *kgo.Record) {
			seen++
			if string(r.Key) == "ann" {
				fmt.Printf("%s: %s\n", r.Key, r.Value)
			}
		})
	}
	// Output:
	// ann: 1
	// ann: 2
	// ann: 3
}
