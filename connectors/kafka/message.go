package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header is one of a record's headers: a Key string and a Value []byte. Kafka allows a
// key to repeat, so a record's headers are a slice, in the order they were produced, not
// a map.
//
// Header is franz-go's own header type under another name, so that the Source passes a
// fetched record's headers on, and the Sink a message's headers to the producer, without
// copying them into a type of their own.
type Header = kgo.RecordHeader

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
