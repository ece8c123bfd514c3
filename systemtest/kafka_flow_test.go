package systemtest

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
)

// kafkaChild runs the crash loops' flow as run.Main runs any program's, with the command
// line the test gave the process, and returns its exit status: the input topic's records,
// each a key and an amount, into a running count and sum per key, each update a record of
// the output topic (kafkaValue), written at least once or exactly once.
func kafkaChild(spec kafkaSpec) int {
	flow := weir.NewDataflow("systemtest_kafka")
	var sopts []kafka.SourceOption
	if spec.Every > 0 {
		// A batch of Every records, and a pause after it: the epochs close between
		// batches, so that they stay short however slow the pace.
		sopts = append(sopts, kafka.BatchSize(spec.Every))
	}
	msgs := op.Input("in", flow, kafka.NewSource(spec.Brokers, []string{spec.In}, sopts...))
	var seen atomic.Int64
	amounts := op.Map("parse", msgs, func(m kafka.Message) weir.KV[int] {
		if spec.Every > 0 && seen.Add(1)%int64(spec.Every) == 0 {
			time.Sleep(spec.Pace)
		}
		v, err := strconv.Atoi(string(m.Value))
		if err != nil {
			panic("systemtest: input record " + m.Topic + "/" + strconv.Itoa(int(m.Partition)) + "/" + strconv.FormatInt(m.Offset, 10) + ": " + err.Error())
		}
		return weir.KV[int]{Key: string(m.Key), Value: v}
	})
	sums := op.StatefulMap("sum", amounts, func(st *op.State[[2]int], v int) string {
		s, _ := st.Get()
		s[0]++
		s[1] += v
		st.Set(s)
		return kafkaValue(s[0], s[1])
	})
	opts := []kafka.SinkOption{kafka.SinkTopic(spec.Out)}
	if spec.Exactly {
		opts = append(opts, kafka.ExactlyOnce())
	}
	op.Output("out", sums, kafka.NewKVSink(spec.Brokers, kafka.String(), opts...))
	return run.MainStatus(flow)
}
