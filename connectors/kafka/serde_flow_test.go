package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// A flow reads orders from Kafka, totals their prices per customer (the record's key),
// writes the totals to a topic, and writes the records that are not JSON orders to a
// dead-letter topic with where they came from and why.
func TestDecodeFlowDeadLetterTopic(t *testing.T) {
	b := kafkatest.Start(t)
	in := b.Topic(t, "orders", 3)
	dlq := b.Topic(t, "orders-dlq", 1)
	totals := b.Topic(t, "totals", 2)

	type bad struct {
		part   int32
		offset int64
		value  string
	}
	var recs []*kgo.Record
	want := map[string]float64{}
	var wantBad []bad
	for p := range int32(3) {
		for i := range 20 {
			key := fmt.Sprint("cust-", (int(p)+i)%4)
			v := fmt.Sprintf(`{"id":%d,"item":"x","price":%d}`, i, i+1)
			switch {
			case i%7 == 3:
				v = fmt.Sprintf(`{"id":%d,"price":`, i) // cut short
				wantBad = append(wantBad, bad{p, int64(i), v})
			case p == 1 && i == 10:
				v = `{"id":"ten"}` // a string for an int
				wantBad = append(wantBad, bad{p, int64(i), v})
			default:
				want[key] += float64(i + 1)
			}
			recs = append(recs, &kgo.Record{Topic: in, Partition: p, Key: []byte(key), Value: []byte(v),
				Headers: []kgo.RecordHeader{{Key: "source", Value: []byte("test")}}})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceTo(ctx, b.Addrs(), recs...); err != nil {
		t.Fatal(err)
	}

	flow := weir.NewDataflow("orders")
	msgs := op.Input("in", flow, kafka.NewSource(b.Addrs(), []string{in}))
	orders, dead := kafka.DecodeKV("parse", msgs, kafka.JSON[jsonOrder]())
	prices := op.MapValue("price", orders, func(o jsonOrder) float64 { return o.Price })
	sums := op.ReduceFinal("total", prices, func(a, b float64) float64 { return a + b })
	op.Output("totals", sums, kafka.NewKVSink(b.Addrs(), kafka.JSON[float64](), kafka.SinkTopic(totals)))
	forward := op.Map("forward", dead, func(d kafka.DeadLetter) kafka.Message { return d.Forward("") })
	op.Output("dlq", forward, kafka.NewSink(b.Addrs(), kafka.SinkTopic(dlq)))
	weirtest.Run(t, flow, 2)

	got := map[string]float64{}
	outs, err := kafkatest.ReadAll(ctx, b.Addrs(), totals)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range outs {
		var v float64
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("total %s: %v", r.Value, err)
		}
		got[string(r.Key)] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}

	dls, err := kafkatest.ReadAll(ctx, b.Addrs(), dlq)
	if err != nil {
		t.Fatal(err)
	}
	var gotBad []bad
	for _, r := range dls {
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		p, _ := strconv.Atoi(h[kafka.HeaderDeadLetterPartition])
		off, _ := strconv.ParseInt(h[kafka.HeaderDeadLetterOffset], 10, 64)
		if h[kafka.HeaderDeadLetterTopic] != in || h[kafka.HeaderDeadLetterStep] != "orders.parse" || h[kafka.HeaderDeadLetterError] == "" || h["source"] != "test" {
			t.Errorf("dead letter %s: headers %v", r.Value, h)
		}
		gotBad = append(gotBad, bad{int32(p), off, string(r.Value)})
	}
	// The dead-letter topic has one partition: each source partition's dead letters are
	// in their order, the partitions interleaved as the workers read them.
	last := map[int32]int64{}
	for _, d := range gotBad {
		if prev, ok := last[d.part]; ok && d.offset <= prev {
			t.Errorf("dead letter %v after offset %d of its partition", d, prev)
		}
		last[d.part] = d.offset
	}
	less := func(a, b bad) bool { return a.part < b.part || a.part == b.part && a.offset < b.offset }
	if diff := cmp.Diff(wantBad, gotBad, cmp.AllowUnexported(bad{}), cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
	if len(wantBad) == 0 {
		t.Fatal("the test produced no bad records")
	}
}
