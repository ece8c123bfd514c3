package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir/source"
)

// ErrUnknownTopic is the error, wrapped with the topic's name, of a source whose topic the
// brokers do not know, and of a TopicRegex that matches no topic.
var ErrUnknownTopic = errors.New("unknown topic")

// Defaults of the source's settings.
const (
	// DefaultBatchSize is the largest batch a partition returns unless BatchSize says
	// otherwise.
	DefaultBatchSize = 1024
	// DefaultMaxPollWait is the longest a partition with nothing to read waits before it
	// looks again, unless MaxPollWait says otherwise.
	DefaultMaxPollWait = 10 * time.Millisecond
	// DefaultLagLogInterval is how often the source logs its partitions' lag unless
	// LagLogInterval says otherwise.
	DefaultLagLogInterval = 30 * time.Second
)

// minPollWait is the first wait after an empty poll: the waits double from it up to the
// maximum while polls find nothing, so that a source that outruns its fetches waits
// little, and an idle one looks a hundred times a second, not in a busy loop.
const minPollWait = 100 * time.Microsecond

// ahead is how many batches a partition may hold taken from its client before the
// client is polled no more for any partition that shares it: what a fetch brings for a
// partition that is read more slowly than the others waits in the client instead.
const ahead = 4

// SourceOption is a setting of a Source: an Option of the client, or one of the source's
// own (StartLatest, Tail, BatchSize...).
type SourceOption interface{ applySource(*sourceConfig) }

type sourceOpt func(*sourceConfig)

func (o sourceOpt) applySource(c *sourceConfig) { o(c) }
func (o Option) applySource(c *sourceConfig)    { o(&c.client) }

type startKind uint8

const (
	startEarliest startKind = iota
	startLatest
	startTime
)

type sourceConfig struct {
	client      clientConfig
	topics      []string
	regex       bool
	start       startKind
	at          time.Time
	tail        bool
	uncommitted bool
	batch       int
	maxWait     time.Duration
	lagEvery    time.Duration
	perClient   int
	kgo         []kgo.Opt // fetch settings
}

// StartEarliest starts a partition that has no resume position at the first record the
// broker still holds. It is the default.
func StartEarliest() SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.start = startEarliest })
}

// StartLatest starts a partition that has no resume position at its end as the partition
// opens: only records produced after that are read. The default is StartEarliest.
func StartLatest() SourceOption { return sourceOpt(func(c *sourceConfig) { c.start = startLatest }) }

// StartAt starts a partition that has no resume position at its first record whose
// timestamp is t or later (the brokers' ListOffsets by timestamp), or at its end if it has
// none. The default is StartEarliest.
func StartAt(t time.Time) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.start, c.at = startTime, t })
}

// Tail reads each partition forever, waiting for new records at its end, until the run
// stops. By default a partition ends (io.EOF) at its end as it was when the partition
// opened: its high watermark, or its last stable offset when reading committed records.
func Tail() SourceOption { return sourceOpt(func(c *sourceConfig) { c.tail = true }) }

// TopicRegex makes the source's topics regular expressions (Go's syntax), each matching
// whole topic names: "orders-.*" reads orders-eu and orders-us, not old-orders-eu. The
// brokers' internal topics (__consumer_offsets...) match none. By default the topics are
// names.
func TopicRegex() SourceOption { return sourceOpt(func(c *sourceConfig) { c.regex = true }) }

// ReadUncommitted reads every record, those of transactions aborted or still open too, as
// Kafka's own consumer does by default. The source's default is read_committed: records of
// aborted transactions are skipped, and a partition is read only up to its last stable
// offset, its first record of a transaction still open, so that the output of an
// exactly-once Sink (or of any transactional producer) is read exactly once. Topics
// written without transactions read the same either way; a transaction left open by a
// producer that died holds read_committed readers back until the transaction times out.
func ReadUncommitted() SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.uncommitted = true })
}

// BatchSize sets the largest batch of Messages a partition returns, overriding
// DefaultBatchSize. Values below 1 mean 1.
func BatchSize(n int) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.batch = max(n, 1) })
}

// MaxPollWait sets the longest a partition that found nothing to read waits before it
// looks again, overriding DefaultMaxPollWait: the latency of the first record after an
// idle spell, against the cost of looking (a cheap check of what the client fetched).
// Values below 100µs mean 100µs.
func MaxPollWait(d time.Duration) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.maxWait = max(d, minPollWait) })
}

// LagLogInterval sets how often the source logs each open partition's lag, at debug
// level, to the Logger, overriding DefaultLagLogInterval; 0 logs none.
func LagLogInterval(d time.Duration) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.lagEvery = max(d, 0) })
}

// FetchMaxBytes sets the most bytes a fetch from one broker returns, overriding
// franz-go's default of 50 MiB: with FetchMaxPartitionBytes, it bounds the memory a
// worker's client uses for records fetched and not yet read.
func FetchMaxBytes(n int32) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.kgo = append(c.kgo, kgo.FetchMaxBytes(n)) })
}

// FetchMaxPartitionBytes sets the most bytes a fetch returns for one partition, overriding
// franz-go's default of 1 MiB.
func FetchMaxPartitionBytes(n int32) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.kgo = append(c.kgo, kgo.FetchMaxPartitionBytes(n)) })
}

// FetchMaxWait sets how long a broker holds a fetch that finds too few records before it
// answers, overriding franz-go's default of 5 s. It does not delay the source, which never
// waits for a fetch: the client fetches in the background.
func FetchMaxWait(d time.Duration) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.kgo = append(c.kgo, kgo.FetchMaxWait(d)) })
}

// PartitionsPerClient sets how many of a worker's partitions share one client; by
// default (0) all of them do. A client keeps one fetch in flight per broker and decodes
// each broker's fetches on one goroutine, so more clients decode in parallel, which helps
// only while the worker leaves cores idle (more workers do that too), at the cost of
// more connections and fetch sessions on the brokers. Measured with BenchmarkSource (one
// worker, 8 partitions of the in-process broker, on 2 cores under other load), two
// clients read at 0.5 to 2 times the rate of one, and a client per partition at 0.6 to
// 1.4 times: measure on your own cluster before changing it. A worker always has
// clients of its own.
func PartitionsPerClient(n int) SourceOption {
	return sourceOpt(func(c *sourceConfig) { c.perClient = max(n, 0) })
}

// Source is a partitioned source of the Messages of one or more Kafka topics: one weir
// partition per topic partition, named "topic/partition" ("orders/3"), assigned to the
// workers by weir (no consumer group). See the package's doc. A Source is read by one run
// at a time.
type Source struct {
	cfg sourceConfig

	mu   sync.Mutex
	open map[worker][]*fetcher // the clients of each worker of a run, in the order made
}

// worker is one worker of one input step.
type worker struct {
	step string
	id   int
}

// NewSource returns a source of the given topics' records, read from a cluster through
// the seed brokers (host:port). With TopicRegex the topics are regular expressions.
func NewSource(brokers []string, topics []string, opts ...SourceOption) *Source {
	cfg := sourceConfig{
		client:   newClientConfig(slices.Clone(brokers)),
		topics:   slices.Clone(topics),
		batch:    DefaultBatchSize,
		maxWait:  DefaultMaxPollWait,
		lagEvery: DefaultLagLogInterval,
	}
	for _, o := range opts {
		o.applySource(&cfg)
	}
	return &Source{cfg: cfg, open: map[worker][]*fetcher{}}
}

// Partitions implements source.Partitioned: it lists the partitions of the source's topics
// from the brokers' metadata, as they are when the run starts. A topic that gains
// partitions is read whole by the next run.
func (s *Source) Partitions(ctx context.Context) ([]string, error) {
	cl, err := kgo.NewClient(s.cfg.client.kgoOpts()...)
	if err != nil {
		return nil, fmt.Errorf("weir: kafka: client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var names []string
	if s.cfg.regex {
		res := make([]*regexp.Regexp, len(s.cfg.topics))
		for i, t := range s.cfg.topics {
			if res[i], err = regexp.Compile(`^(?:` + t + `)$`); err != nil {
				return nil, fmt.Errorf("weir: kafka: topic regex %q: %w", t, err)
			}
		}
		all, err := adm.ListTopics(ctx)
		if err != nil {
			return nil, fmt.Errorf("weir: kafka: listing topics: %w", err)
		}
		for _, td := range all.Sorted() {
			if slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(td.Topic) }) {
				names = appendParts(names, td)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("weir: kafka: no topic matches %q: %w", s.cfg.topics, ErrUnknownTopic)
		}
		return names, nil
	}
	if len(s.cfg.topics) == 0 {
		return nil, errors.New("weir: kafka: the source has no topic")
	}
	topics := slices.Compact(slices.Sorted(slices.Values(s.cfg.topics)))
	tds, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("weir: kafka: listing topics %q: %w", topics, err)
	}
	for _, t := range topics {
		td, ok := tds[t]
		switch {
		case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
			return nil, fmt.Errorf("weir: kafka: topic %q: %w", t, ErrUnknownTopic)
		case td.Err != nil:
			return nil, fmt.Errorf("weir: kafka: topic %q: %w", t, td.Err)
		}
		names = appendParts(names, td)
	}
	return names, nil
}

func appendParts(names []string, td kadm.TopicDetail) []string {
	for _, p := range td.Partitions.Sorted() {
		names = append(names, partName(td.Topic, p.Partition))
	}
	return names
}

// partName is a partition's name: topic names cannot hold a slash, so it is unambiguous.
func partName(topic string, p int32) string { return topic + "/" + strconv.Itoa(int(p)) }

func parsePartName(name string) (string, int32, error) {
	i := strings.LastIndexByte(name, '/')
	if i <= 0 {
		return "", 0, fmt.Errorf("weir: kafka: partition name %q is not topic/partition", name)
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, fmt.Errorf("weir: kafka: partition name %q is not topic/partition", name)
	}
	return name[:i], int32(p), nil
}

// Build implements source.Source: it opens the partition on one of the worker's clients.
// The client is made, and the partition's start and end offsets listed, when the worker
// first reads, for all of its partitions at once.
func (s *Source) Build(ctx context.Context, part source.Part, resume []byte) (source.Partition[Message], error) {
	topic, num, err := parsePartName(part.Partition)
	if err != nil {
		return nil, err
	}
	from := int64(-1)
	if len(resume) > 0 { // none: a fresh partition, or one whose start was never listed
		off, n := binary.Uvarint(resume)
		if n <= 0 || n != len(resume) || off > 1<<62 {
			return nil, fmt.Errorf("weir: kafka: %s: corrupt resume position %x", part.Partition, resume)
		}
		from = int64(off)
	}
	p := &partition{name: part.Partition, topic: topic, num: num, from: from, end: -1}
	p.next.Store(from)
	p.hw.Store(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	w := worker{part.Step, part.Worker}
	fs := s.open[w]
	var f *fetcher
	if n := len(fs); n > 0 && (s.cfg.perClient == 0 || len(fs[n-1].parts) < s.cfg.perClient) && fs[n-1].cl == nil {
		f = fs[n-1]
	} else {
		f = &fetcher{src: s, w: w, ctx: ctx, parts: map[tp]*partition{}}
		s.open[w] = append(fs, f)
	}
	p.f = f
	f.parts[tp{topic, num}] = p
	f.order = append(f.order, p)
	f.live++
	return p, nil
}

// closed forgets f once its last partition closed.
func (s *Source) closed(f *fetcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.open[f.w]
	if i := slices.Index(fs, f); i >= 0 {
		fs = slices.Delete(fs, i, i+1)
	}
	if len(fs) == 0 {
		delete(s.open, f.w)
	} else {
		s.open[f.w] = fs
	}
}

// Lag returns the lag of every partition open in this process that knows it, by name:
// how many records it is behind the end of its partition (the high watermark, or with
// read_committed the last stable offset) as of the last fetch. It is what each
// partition's Lag method (source.Lagger) returns.
func (s *Source) Lag() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	lags := map[string]int64{}
	for _, fs := range s.open {
		for _, f := range fs {
			for _, p := range f.order {
				if lag, ok := p.Lag(); ok {
					lags[p.name] = lag
				}
			}
		}
	}
	return lags
}

// readPos is a partition's resume position: the offset of the next record to read.
func readPos(next int64) []byte { return binary.AppendUvarint(nil, uint64(next)) }

var (
	_ source.Source[Message]    = (*Source)(nil)
	_ source.Partitioned        = (*Source)(nil)
	_ source.Partition[Message] = (*partition)(nil)
	_ source.Awaker             = (*partition)(nil)
	_ source.Lagger             = (*partition)(nil)
)
