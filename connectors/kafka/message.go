package kafka

import "time"

// Header is one of a record's headers. Kafka allows a key to repeat, so a record's
// headers are a slice, in the order they were produced, not a map.
type Header struct {
	Key   string
	Value []byte
}

// Message is a Kafka record: an item of the Source, and an item the Sink writes.
//
// A Message read by the Source shares its Key, Value and header values with the
// fetched batch they were decoded from; they stay valid for as long as the item is
// referenced (the batch is garbage-collected only once no Message points into it), so
// a step may keep them in state without copying.
type Message struct {
	Key, Value []byte
	Topic      string
	Partition  int32
	// Offset is the record's offset in its partition; -1 on a message to be produced,
	// whose offset the broker assigns.
	Offset int64
	// Timestamp is the record's time: the producer's, or the broker's when the topic
	// says LogAppendTime. Zero on a message to be produced means "now" (the producer's
	// time).
	Timestamp time.Time
	Headers   []Header
}
