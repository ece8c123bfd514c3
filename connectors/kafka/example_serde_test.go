package kafka_test

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// Order is a record's value, in JSON.
type Order struct {
	Item  string  `json:"item"`
	Price float64 `json:"price"`
}

// Orders are decoded from JSON and keyed by their record's key, the customer, so that a
// keyed aggregation follows at once; the records that are not orders go to a dead-letter
// topic, with where they were read and why they were refused, and the run goes on.
func ExampleDecodeKV() {
	// An in-process broker; in production, the cluster's addresses.
	broker, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders-dlq"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer broker.Close()
	brokers := broker.ListenAddrs()
	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range [][2]string{
		{"ada", `{"item":"tea","price":2.5}`},
		{"bob", `{"item":"cake",`},
		{"ada", `{"item":"pie","price":4}`},
		{"bob", `{"item":"jam","price":"3"}`},
	} {
		producer.ProduceSync(context.Background(), &kgo.Record{Topic: "orders", Key: []byte(r[0]), Value: []byte(r[1])})
	}
	producer.Close()

	flow := weir.NewDataflow("shop")
	records := op.Input("in", flow, kafka.NewSource(brokers, []string{"orders"}))
	orders, dead := kafka.DecodeKV("parse", records, kafka.JSON[Order]())
	prices := op.MapValue("price", orders, func(o Order) float64 { return o.Price })
	op.Inspect("spent", op.ReduceFinal("total", prices, func(a, b float64) float64 { return a + b }))

	op.Inspect("dead", dead)
	toDLQ := op.Map("forward", dead, func(d kafka.DeadLetter) kafka.Message { return d.Forward("orders-dlq") })
	op.Output("dlq", toDLQ, kafka.NewSink(brokers))

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// shop.dead: shop.parse: orders/0@1: unexpected end of JSON input
	// shop.dead: shop.parse: orders/0@3: json: cannot unmarshal string into Go struct field Order.price of type float64
	// shop.spent: (ada, 6.5)
}
