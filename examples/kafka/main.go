// Command kafka keeps a running total of sales per product, from one Kafka topic to
// another, exactly once: each sale is a record keyed by its product with the quantity as
// its value, and each one updates its product's total, written as a record to the output
// topic. A read_committed consumer of the output sees every update once, even when the
// program is killed and resumed.
//
// With no broker given it starts franz-go's in-process test broker, writes 2,000 sales to
// it, runs the flow, and prints each product's final total as a read_committed consumer
// reads it:
//
//	go run ./examples/kafka
//
// Against a real cluster, name its brokers (or set WEIR_KAFKA_BROKERS) and the topics;
// the program reads the input topic from its start to its end as it is when the run
// starts, and with -r resumes where the last run stopped:
//
//	go run ./examples/kafka -brokers host:9092 -in sales -out totals -r /var/lib/totals --recovery-partitions 4
//
// Exactly-once output needs a recovery directory, where each epoch's transaction is
// recorded before it commits: without -r the program uses a temporary one, so that each
// run starts afresh. The output topic's consumers must read with read_committed.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

var (
	brokersFlag = run.Flags().String("brokers", "", "the Kafka cluster's bootstrap `host:port`s, comma-separated (WEIR_KAFKA_BROKERS; none: an in-process test broker)")
	inFlag      = run.Flags().String("in", "sales", "the input `topic`")
	outFlag     = run.Flags().String("out", "totals", "the output `topic`")
)

// Sales is the number of sales the program writes to the in-process broker.
const Sales = 2000

func main() {
	run.Args()
	addrs := kafkatest.EnvBrokers()
	if *brokersFlag != "" {
		addrs = strings.Split(*brokersFlag, ",")
	}
	var local *kafkatest.Broker
	if addrs == nil {
		var err error
		if local, err = startLocal(*inFlag, *outFlag); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		addrs = local.Addrs()
	}
	dir, err := os.MkdirTemp("", "weir-kafka-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := run.MainStatus(totals(addrs, *inFlag, *outFlag),
		run.Recovery(dir), run.RecoveryPartitions(4), run.EpochInterval(500*time.Millisecond))
	os.RemoveAll(dir)
	if code == 0 {
		if err := printTotals(os.Stdout, addrs, *outFlag); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if local != nil {
		local.Close()
	}
	os.Exit(code)
}

// totals is the dataflow: sales in, a running total per product, totals out.
func totals(brokers []string, in, out string) *weir.Dataflow {
	flow := weir.NewDataflow("sales_totals")
	sales := op.Input("sales", flow, kafka.NewSource(brokers, []string{in}))
	quantities := op.FilterMap("parse", sales, func(m kafka.Message) (weir.KV[int], bool) {
		n, err := strconv.Atoi(string(m.Value))
		return weir.KV[int]{Key: string(m.Key), Value: n}, err == nil
	})
	running := op.StatefulMap("total", quantities, func(st *op.State[int], n int) string {
		total, _ := st.Get()
		total += n
		st.Set(total)
		return strconv.Itoa(total)
	})
	// Keyed by product: each product's totals go through one producer, in order, to the
	// partition its key hashes to.
	op.Output("totals", running, kafka.NewKVSink(brokers, kafka.String(), kafka.SinkTopic(out), kafka.ExactlyOnce()))
	return flow
}

// products are what the sales are of.
var products = []string{"apples", "bread", "cheese", "dates", "eggs", "figs", "grapes"}

// sale returns sale i: a product and a quantity from 1 to 5, the same in every run.
func sale(i int) (string, int) {
	x := uint32(i)*2654435761 + 12345
	return products[x%uint32(len(products))], 1 + int(x>>8)%5
}

// startLocal starts the in-process broker with the two topics and writes the sales.
func startLocal(in, out string) (*kafkatest.Broker, error) {
	b, err := kafkatest.NewCluster(kfake.SeedTopics(4, in, out))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := produceSales(ctx, b.Addrs(), in); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// produceSales writes the Sales sales to topic in.
func produceSales(ctx context.Context, brokers []string, in string) error {
	return kafkatest.ProduceN(ctx, brokers, in, Sales, func(i int) *kgo.Record {
		p, n := sale(i)
		return &kgo.Record{Key: []byte(p), Value: []byte(strconv.Itoa(n))}
	})
}

// printTotals reads the output topic as a read_committed consumer and prints each
// product's last total, and how many updates there were.
func printTotals(w io.Writer, brokers []string, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	recs, err := kafkatest.ReadCommitted(ctx, brokers, out)
	if err != nil {
		return err
	}
	last := map[string]string{}
	for _, r := range recs { // a product's updates are in one partition, in order
		last[string(r.Key)] = string(r.Value)
	}
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Fprintf(w, "%d updates committed to %s; the totals:\n", len(recs), out)
	for _, k := range keys {
		fmt.Fprintf(w, "%-8s %s\n", k, last[k])
	}
	return nil
}
