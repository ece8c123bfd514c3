package kafka_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// A flow that reads a topic to its end and prints each record with its coordinates. The
// broker is franz-go's in-process test broker; a real cluster's addresses go where
// brokers is.
func ExampleNewSource() {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	ctx := context.Background()
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = producer.ProduceSync(ctx,
		&kgo.Record{Topic: "orders", Key: []byte("alice"), Value: []byte("2 apples")},
		&kgo.Record{Topic: "orders", Key: []byte("bob"), Value: []byte("1 pear")},
	).FirstErr()
	producer.Close()
	if err != nil {
		fmt.Println(err)
		return
	}

	flow := weir.NewDataflow("orders")
	// Bounded (the default): the run ends at the end of each partition as it is when
	// the partition opens. kafka.Tail() would read on until the run is stopped.
	in := op.Input("in", flow, kafka.NewSource(brokers, []string{"orders"}, kafka.StartEarliest()))
	lines := op.Map("format", in, func(m kafka.Message) string {
		return fmt.Sprintf("%s/%d@%d %s: %s", m.Topic, m.Partition, m.Offset, m.Key, m.Value)
	})
	op.Output("print", lines, stdio.NewSink[string]())
	if err := run.Run(ctx, flow, run.Logger(discardLogger)); err != nil {
		fmt.Println(err)
	}
	// Output:
	// orders/0@0 alice: 2 apples
	// orders/0@1 bob: 1 pear
}
