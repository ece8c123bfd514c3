// Package kafka reads from and writes to Apache Kafka (and brokers that speak its
// protocol) through franz-go: a partitioned Source of Messages, a Sink, and serde helpers
// between Messages and Go types.
//
// # Connecting
//
// NewSource and the sink take the seed brokers as their first argument ("host:port"
// each); Options set the rest of the connection, shared by both: SASLPlain,
// SASLScram256, SASLScram512 or any franz-go SASL mechanism (SASL), TLS, ClientID, and
// ClientOpts for any other franz-go setting (timeouts, a logger, a dialer).
//
// # Source
//
// NewSource reads one or more topics, named or matched by regular expressions
// (TopicRegex), as a partitioned source: one weir partition per topic partition, named
// "topic/partition" ("orders/3"; a topic's name cannot hold a slash). weir assigns the
// partitions to its workers itself, as Bytewax does, with no consumer group: no group
// coordinator, no rebalance, no offsets committed to Kafka. Each partition's position is
// the offset of the next record to read, snapshotted at every epoch close with the
// flow's state, so a resumed run reads each partition from exactly where the last
// committed epoch left it, whatever the number of workers, and the flow's state sees
// every record exactly once.
//
// The partitions are listed from the brokers' metadata when a run starts. A topic that
// gained partitions is read whole by the next run: a partition without a position starts
// as every partition of a fresh run does, from the StartEarliest (the default),
// StartLatest or StartAt(time) setting, so with StartLatest the records written to a new
// partition before the run are skipped. Where a fresh partition starts is in its first
// snapshot, even if it has read nothing: a run resumed later does not start again at a
// later end or timestamp. A topic that is missing when the run starts fails it with
// ErrUnknownTopic, naming the topic; one deleted while the run reads fails it with the
// brokers' error. A position that retention deleted is read from the partition's first
// record still held, and one past the partition's end (a topic deleted and made again)
// from its end, each with a warning in the log.
//
// By default a partition ends (io.EOF) at its end as it was when the partition opened,
// so that a run over a topic ends once it has read what was there; Tail reads on until
// the run is stopped, as Bytewax's source does by default. The end is the high watermark
// or, with read_committed, the last stable offset. A partition knows it has reached the
// end from the offsets of the records it reads, transactions' markers included, so on a
// compacted topic whose last records before the end were compacted away, a bounded
// partition ends only when a later record is written.
//
// Records are read as read_committed by default (ReadUncommitted reads all): a consumer
// of an exactly-once Sink's output, or of any transactional producer, must read
// committed records only, and topics written without transactions read the same either
// way. Kafka's own consumer, and Flink's, default to read_uncommitted; weir chooses the
// setting that never shows a record that was rolled back. Its cost: a transaction left
// open holds a read_committed reader back until it ends or times out.
//
// Each worker reads its partitions through one franz-go client (PartitionsPerClient
// changes that), which fetches them in the background, from every broker at once; a
// worker's partition takes what the client fetched for it, never waiting for a fetch,
// and when it finds nothing it waits, from 100µs doubling up to MaxPollWait (10 ms by
// default), before it looks again, so that an idle source does not spin. Batches hold up
// to BatchSize messages (DefaultBatchSize, 1024); FetchMaxBytes, FetchMaxPartitionBytes
// and FetchMaxWait set franz-go's fetches (50 MiB, 1 MiB and 5 s by default). A Message's
// Key, Value and header values are those of the fetched record, not copies; the batch
// slice is the flow's only until the next one.
//
// # Lag
//
// Each partition knows its lag, the records between its position and the end of what it
// can read as of its last fetch, and reports it as a source.Lagger; Source.Lag returns
// them all, by partition. The source also logs them, at debug level to the Logger,
// every LagLogInterval (30 s by default), one line per client (per worker, unless
// PartitionsPerClient says otherwise).
//
// # Sink
//
// NewSink writes Messages, each to its Topic or to the SinkTopic; NewKVSink writes the
// items of a keyed stream to the SinkTopic, the weir key as the record's key and the
// value through a ValueEncoder (any of this package's Serdes). Both are partitioned
// sinks whose weir partitions, "0" to "n-1", are producers, not Kafka partitions: a
// keyed stream is spread over them by key, a stream that is not keyed all goes to one,
// and each producer picks a record's Kafka partition from its key as Kafka's Java client
// does (murmur2), so a key lands where any other producer would put it and its records
// stay in order. SinkPartitions sets n; by default it is the SinkTopic's partition
// count, and 1 without a SinkTopic.
//
// Output is at-least-once by default: records are produced asynchronously and every
// epoch close waits for the brokers' acknowledgements, so an epoch is committed in the
// recovery store only once its records are in Kafka; a resumed run writes again what
// came after the last committed epoch. A record the brokers refuse (a missing topic, a
// record too large) fails the run with a *ProduceError naming the topic and partition,
// before its epoch is committed, so the run can be resumed once the cause is fixed.
//
// ExactlyOnce writes each epoch in Kafka transactions, committed in two phases with the
// recovery store (sink.Committer): the epoch's records are flushed when it closes, and
// committed once the epoch is durable for every worker. A transaction flushed but not
// committed when the process died is committed by the resumed run (an EndTxn to the
// transaction coordinator, with the transactional id, producer id and producer epoch
// its snapshot recorded); one of an epoch that never committed is aborted when the
// resumed run initialises the partition's transactional ids, which also fences the old
// producers. Consumers must read with read_committed. A run down longer than the
// transaction timeout (TransactionTimeout, 15 minutes by default, the brokers' usual
// maximum) between an epoch's close and its commit loses that epoch's output, as with
// Flink's sink; the resumed run says so with a *LostTransactionError naming the step,
// partition and epoch rather than going on silently. Transactional ids are made of the
// TransactionalIDPrefix, the step's full id and the partition, so flows of different
// names never share one; two runs of one flow against one cluster need different
// prefixes, or the second fences the first, which stops with ErrFenced. See ExactlyOnce
// for the whole protocol and its limits.
//
// # Serde
//
// Decode turns a stream of Messages into a stream of T, decoding each record's value
// with a Serde; DecodeKV into a keyed stream, the record's key as the weir key (decoded
// with KeySerde if given), so that a keyed aggregation follows at once. Each also
// returns a dead-letter stream: a record that does not decode is never dropped, but goes
// there as a DeadLetter, with its topic, partition and offset, the step's id and the
// error, while the run goes on. DeadLetter.Forward makes it a record for a dead-letter
// topic, with where it came from and why in its headers (HeaderDeadLetterTopic and the
// others); write it with the Sink. StopOnError stops the run on the first bad record
// instead, with a *DecodeError naming the step, topic, partition and offset. Encode and
// EncodeKV make records to produce from items. Each worker decodes into a buffer it
// reuses batch after batch, so a record costs what its codec costs and little more: a
// flow decodes JSON as fast as a plain loop of json.Unmarshal (BenchmarkDecodeJSON).
//
// The Serdes are Bytes (the record's bytes as they are), String, JSON (encoding/json),
// and, through a schema registry in its wire format (a zero magic byte, a 4-byte schema
// id, and for Protobuf the message indexes), Avro (hamba/avro) and Protobuf
// (google.golang.org/protobuf). A Registry wraps franz-go's schema registry client
// (sr.NewClient): a Serde that encodes registers its schema under its subject once, when
// it is made, and a record's schema id is asked for once per id, then remembered (an id
// the registry does not know, for RetryUnknownAfter only). A record in another format,
// naming a schema id the registry does not know, or whose bytes do not match its
// schema, is a dead letter; a registry that cannot be reached stops the run instead (a
// *RegistryError), since the record is not at fault and a resumed run decodes it. Avro
// decodes with the writer's schema, named by the record, into T's fields by name;
// schemas with references are not resolved yet.
package kafka
