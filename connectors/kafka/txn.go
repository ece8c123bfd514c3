package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/sink"
)

// DefaultTransactionTimeout is the transaction timeout of an exactly-once sink unless
// TransactionTimeout says otherwise: 15 minutes, the most a broker accepts unless its
// transaction.max.timeout.ms is raised. It is how long a process may be down between
// an epoch's close and its commit before the epoch's output is lost (see ExactlyOnce).
const DefaultTransactionTimeout = 15 * time.Minute

// DefaultTransactionalIDPrefix starts the transactional ids of an exactly-once sink
// unless TransactionalIDPrefix says otherwise.
const DefaultTransactionalIDPrefix = "weir"

// minFence is how many transactional ids of a partition a run always fences, beyond
// those its snapshot says were used, for brokers that cannot tell which ids exist
// (DescribeTransactions, Kafka 3.0).
const minFence = 4

// TxnOption is a setting of ExactlyOnce.
type TxnOption func(*txnConfig)

type txnConfig struct {
	prefix     string
	timeout    time.Duration
	ignoreLost bool
}

func defaultTxnConfig() txnConfig {
	return txnConfig{prefix: DefaultTransactionalIDPrefix, timeout: DefaultTransactionTimeout}
}

// TransactionalIDPrefix starts the sink's transactional ids with prefix, overriding
// DefaultTransactionalIDPrefix. Two runs of the same dataflow against one cluster at
// once (a staging copy, say) need different prefixes, or each fences the other's
// producers; see ExactlyOnce.
func TransactionalIDPrefix(prefix string) TxnOption {
	return func(c *txnConfig) { c.prefix = prefix }
}

// TransactionTimeout sets how long the brokers keep a transaction open before aborting
// it, overriding DefaultTransactionTimeout. It must not exceed the brokers'
// transaction.max.timeout.ms: a run that asks for more fails when it starts, with an
// error that says the brokers' maximum.
func TransactionTimeout(d time.Duration) TxnOption {
	return func(c *txnConfig) { c.timeout = d }
}

// IgnoreLostTransactions lets a resumed run go on when it finds that the transaction of
// an epoch committed in the recovery store was aborted by the brokers (the process was
// down longer than the transaction timeout): that epoch's output is missing from Kafka,
// and the run logs it at error level instead of failing with a *LostTransactionError.
// By default the run fails.
func IgnoreLostTransactions() TxnOption {
	return func(c *txnConfig) { c.ignoreLost = true }
}

// ExactlyOnce makes the sink write each epoch's records in Kafka transactions, made
// visible only once the epoch is committed in the recovery store, so that a consumer
// reading with read_committed (isolation.level=read_committed; this package's Source
// by default) sees every record exactly once, across crashes and resumes.
//
// Each weir partition of the sink owns a few transactional ids, "<prefix>/<step>/<partition>/<i>"
// (the step's full id, "flow.step", with '/' and '%' escaped): stable across runs, so
// that a resumed run fences the producers of the run before, and different for every
// dataflow and step, so that flows of different names never share one. Two runs of the
// same flow against one cluster at once would: the second fences the first, whose next
// transaction fails with ErrFenced, so that the clash stops a run rather than mixing
// their output; give each its own TransactionalIDPrefix.
//
// Each epoch's records go to one transaction. At the epoch's close (the first phase)
// the partition flushes them and records in the epoch's snapshot the transactional id,
// producer id and producer epoch of every transaction it has prepared and not yet
// committed; once the epoch is committed in the recovery store by every worker (the
// second phase) it commits them. The next epoch's records go to another transaction
// meanwhile, under the partition's next id (ids are added while the store lags behind,
// two sufficing while it keeps up), so the flow never waits for the store. A resumed run first finishes, with an EndTxn request to the transaction
// coordinator, the transactions recorded in the snapshot it resumes from (their epochs
// are committed, whether the crash came before or after their commit), then
// initialises every transactional id the partition may have used (those its snapshot
// counts, and those added since, which the coordinator lists), which aborts the
// transactions of epochs that were never committed: their records are written again.
// Without a recovery store, each epoch's transaction commits at the epoch's close, and
// output is exactly-once only for a run that is not interrupted.
//
// Limits, as with any transactional Kafka producer (Flink's sink has the same):
//   - Consumers must read with read_committed: a read_uncommitted consumer sees aborted
//     records too, and sees them at once.
//   - A read_committed consumer does not read past the first open transaction of a
//     partition: output appears epoch by epoch, after the store's commit, and a run that
//     stops between an epoch's close and its commit holds consumers back until the run
//     is resumed (which finishes it) or the transaction times out.
//   - A run down longer than the transaction timeout between an epoch's close and its
//     commit loses that epoch's output: the brokers abort the transaction, and nothing
//     can bring it back. Raise TransactionTimeout (and the brokers' maximum) to cover the
//     longest outage you expect. weir does not skip such an epoch silently: the resumed
//     run finds the transaction aborted and fails with a *LostTransactionError naming the
//     step, partition and epoch (IgnoreLostTransactions goes on after logging it). A
//     broker without transactions v2 (KIP-890, Kafka 4) answers a timed-out
//     transaction's EndTxn as it answers one that a later run already finished, so
//     there a loss can go unreported.
//   - Each transaction costs the brokers a few requests and markers per epoch and
//     partition: short epochs cost throughput.
func ExactlyOnce(opts ...TxnOption) SinkOption {
	return sinkOpt(func(c *sinkConfig) {
		tc := defaultTxnConfig()
		for _, o := range opts {
			o(&tc)
		}
		c.txn = &tc
	})
}

// ErrFenced is the error of a transaction whose producer another producer with the same
// transactional id fenced: two runs use the same ids.
var ErrFenced = errors.New("another producer took over the transactional id (the same flow running twice against this cluster? give each run its own TransactionalIDPrefix)")

// ErrTransactionLost matches a *LostTransactionError.
var ErrTransactionLost = errors.New("transaction lost")

// LostTransactionError is the error of a resumed run that finds the transaction of an
// epoch committed in the recovery store aborted by the brokers, as when the process was
// down longer than the transaction timeout: the epoch's records are not in Kafka, and
// cannot be written again (the flow resumes after them).
type LostTransactionError struct {
	Step            string // the sink's step
	Partition       string // the sink's weir partition
	Epoch           uint64 // the epoch whose output is lost
	TransactionalID string
	Err             error // what the coordinator answered
}

func (e *LostTransactionError) Error() string {
	return fmt.Sprintf("weir: kafka: sink: %s partition %s: the transaction of epoch %d (transactional id %q) was aborted before it was committed, so that epoch's output is not in Kafka (%v); was the run down longer than the transaction timeout? raise it (TransactionTimeout), or resume anyway with IgnoreLostTransactions",
		e.Step, e.Partition, e.Epoch, e.TransactionalID, e.Err)
}

func (e *LostTransactionError) Unwrap() error { return e.Err }

func (e *LostTransactionError) Is(target error) bool { return target == ErrTransactionLost }

// txnBase is the start of a partition's transactional ids, to which "/<i>" is added.
// The step is escaped so that the id is made of its parts in only one way.
func txnBase(prefix, step, part string) string {
	step = strings.NewReplacer("%", "%25", "/", "%2F").Replace(step)
	return prefix + "/" + step + "/" + part
}

func slotID(base string, i int) string { return base + "/" + strconv.Itoa(i) }

// sinkSnapshot is a partition's position: for an exactly-once sink, its transactional
// ids and the transactions it prepared and had not committed when it was taken.
type sinkSnapshot struct {
	base    string // the ids' base (txnBase); "" at-least-once
	slots   int    // ids base/0 to base/slots-1
	pending []pendingTxn
}

type pendingTxn struct {
	slot   int
	epoch  uint64 // weir's epoch
	pid    int64  // Kafka's producer id and epoch, as of the transaction
	pepoch int16
}

const snapshotVersion = 1

func (s sinkSnapshot) encode() []byte {
	b := []byte{snapshotVersion}
	b = binary.AppendUvarint(b, uint64(len(s.base)))
	b = append(b, s.base...)
	b = binary.AppendUvarint(b, uint64(s.slots))
	b = binary.AppendUvarint(b, uint64(len(s.pending)))
	for _, t := range s.pending {
		b = binary.AppendUvarint(b, uint64(t.slot))
		b = binary.AppendUvarint(b, t.epoch)
		b = binary.AppendVarint(b, t.pid)
		b = binary.AppendVarint(b, int64(t.pepoch))
	}
	return b
}

var errBadSnapshot = errors.New("the snapshot is not a Kafka sink's")

func decodeSinkSnapshot(b []byte) (sinkSnapshot, error) {
	var s sinkSnapshot
	if len(b) == 0 {
		return s, nil
	}
	if b[0] != snapshotVersion {
		return s, fmt.Errorf("%w (version %d)", errBadSnapshot, b[0])
	}
	d := codec.Reader{Data: b[1:]}
	s.base = string(d.Bytes())
	s.slots = int(min(d.Uvarint(), 1<<16))
	n := d.Count()
	for range n {
		t := pendingTxn{slot: int(min(d.Uvarint(), 1<<16)), epoch: d.Uvarint(), pid: d.Varint(), pepoch: int16(d.Varint())}
		if d.Err != nil {
			break
		}
		s.pending = append(s.pending, t)
	}
	if d.Err != nil || len(d.Data) != 0 {
		return sinkSnapshot{}, errBadSnapshot
	}
	return s, nil
}

// buildTxn opens a partition of an exactly-once sink: it finishes what the snapshot
// says the last run prepared, fences every id of the partition, and hands out
// transactional producers as epochs need them.
func (s *Sink[T]) buildTxn(ctx context.Context, part sink.Part, snap sinkSnapshot) (*txnPart[T], error) {
	tc := s.cfg.txn
	base := txnBase(tc.prefix, part.Step, part.Partition)
	if err := recoverTxns(ctx, &s.cfg.client, tc, part, snap, &sinkSnapshot{base: base}); err != nil {
		return nil, err
	}
	p := &txnPart[T]{sink: s, part: part, base: base}
	p.opts = s.cfg.client.kgoOpts(append(s.produceOpts(), kgo.TransactionTimeout(tc.timeout))...)
	return p, nil
}

// recoverTxns finishes the transactions a snapshot recorded as prepared (their epoch is
// committed: the run resumes from it), and then initialises every transactional id of
// the snapshot's and of now (nil for an at-least-once sink), which aborts any
// transaction still open under them: those of epochs never committed. The order
// matters: initialising an id first would abort the transactions that must commit.
func recoverTxns(ctx context.Context, cc *clientConfig, tc *txnConfig, part sink.Part, snap sinkSnapshot, now *sinkSnapshot) error {
	cl, err := kgo.NewClient(cc.kgoOpts()...)
	if err != nil {
		return fmt.Errorf("weir: kafka: sink: %w", err)
	}
	defer cl.Close()
	where := fmt.Sprintf("weir: kafka: sink: %s partition %s", part.Step, part.Partition)
	for _, t := range snap.pending {
		id := slotID(snap.base, t.slot)
		code, err := endTxn(ctx, cl, id, t.pid, t.pepoch)
		switch {
		case err != nil:
			return fmt.Errorf("%s: committing the transaction of epoch %d (transactional id %q): %w", where, t.epoch, id, err)
		case code == nil:
			cc.logger.Debug("weir: kafka: sink: transaction committed on resume", "step", part.Step,
				"partition", part.Partition, "epoch", t.epoch, "transactional_id", id)
		case errors.Is(code, kerr.ProducerFenced), errors.Is(code, kerr.InvalidProducerEpoch):
			// The id was initialised since the snapshot: by the run that took it (whose
			// commit of this epoch, if it came, ended it), or by an earlier resume from
			// this snapshot, which finished it before initialising. Either way it ended.
		case errors.Is(code, kerr.InvalidTxnState), errors.Is(code, kerr.InvalidProducerIDMapping):
			// Aborted (its timeout passed) and not initialised since, or forgotten: the
			// epoch's records are gone.
			lost := &LostTransactionError{Step: part.Step, Partition: part.Partition, Epoch: t.epoch, TransactionalID: id, Err: code}
			if !tc.ignoreLost {
				return lost
			}
			cc.logger.Error(lost.Error(), "step", part.Step, "partition", part.Partition, "epoch", t.epoch)
		default:
			return fmt.Errorf("%s: committing the transaction of epoch %d (transactional id %q): %w", where, t.epoch, id, code)
		}
	}
	// The ids in use are base/0 to base/k-1 for some k (a partition adds them in order):
	// those the snapshot counts, and any added after it, which the coordinator knows.
	var fenced []string
	for _, s := range []*sinkSnapshot{&snap, now} {
		if s == nil || s.base == "" {
			continue
		}
		for i := 0; ; i++ {
			id := slotID(s.base, i)
			if i >= max(s.slots, minFence) {
				known, err := txnIDKnown(ctx, cl, id)
				if err != nil {
					return fmt.Errorf("%s: describing transactional id %q: %w", where, id, err)
				}
				if !known {
					break
				}
			}
			if slices.Contains(fenced, id) {
				continue
			}
			if err := initTxnID(ctx, cl, id, tc.timeout); err != nil {
				return fmt.Errorf("%s: fencing transactional id %q: %w", where, id, err)
			}
			fenced = append(fenced, id)
		}
	}
	return nil
}

// txnIDKnown reports whether the coordinator of id knows it (DescribeTransactions); a
// broker that cannot say (before Kafka 3.0) is taken to mean no.
func txnIDKnown(ctx context.Context, cl *kgo.Client, id string) (bool, error) {
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	resp, err := req.RequestWith(ctx, cl)
	// franz-go's error for a request the broker does not know is not exported.
	if errors.Is(err, kerr.UnsupportedVersion) || err != nil && strings.Contains(err.Error(), "broker is too old") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, st := range resp.TransactionStates {
		if st.TransactionalID != id {
			continue
		}
		switch code := kerr.ErrorForCode(st.ErrorCode); {
		case code == nil:
			return true, nil
		case errors.Is(code, kerr.TransactionalIDNotFound):
			return false, nil
		default:
			return false, code
		}
	}
	return false, nil
}

// retryTxnRequest sends a request built by mk until its answer's error is not one worth
// retrying (the coordinator moving or busy ending a transaction), for up to a minute.
func retryTxnRequest(ctx context.Context, cl *kgo.Client, mk func() kmsg.Request, code func(kmsg.Response) int16) (error, error) {
	deadline := time.Now().Add(time.Minute)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		resp, err := cl.Request(ctx, mk())
		if err != nil {
			return nil, err
		}
		kerrCode := kerr.ErrorForCode(code(resp))
		if kerrCode == nil || !kerr.IsRetriable(kerrCode) && !errors.Is(kerrCode, kerr.ConcurrentTransactions) || time.Now().After(deadline) {
			return kerrCode, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// endTxn asks the coordinator of id to commit the transaction of producer pid at epoch
// pepoch. franz-go's client finds the coordinator (FindCoordinator) and sends the
// EndTxn there. code is the coordinator's answer; err a failure to get one.
func endTxn(ctx context.Context, cl *kgo.Client, id string, pid int64, pepoch int16) (code, err error) {
	return retryTxnRequest(ctx, cl, func() kmsg.Request {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, pepoch, true
		return req
	}, func(r kmsg.Response) int16 { return r.(*kmsg.EndTxnResponse).ErrorCode })
}

// initTxnID initialises transactional id as a new producer would, which fences the
// producers that used it before and aborts their open transaction.
func initTxnID(ctx context.Context, cl *kgo.Client, id string, timeout time.Duration) error {
	code, err := retryTxnRequest(ctx, cl, func() kmsg.Request {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = kmsg.StringPtr(id)
		req.TransactionTimeoutMillis = int32(min(timeout.Milliseconds(), 1<<31-1))
		req.ProducerID, req.ProducerEpoch = -1, -1
		return req
	}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode })
	if err != nil {
		return err
	}
	if errors.Is(code, kerr.InvalidTransactionTimeout) {
		return timeoutError(ctx, cl, timeout, code)
	}
	return code
}

// timeoutError says that the transaction timeout is above the brokers' maximum, which it
// asks the brokers for.
func timeoutError(ctx context.Context, cl *kgo.Client, timeout time.Duration, code error) error {
	max := "its maximum"
	// A broker's own configuration holds the maximum even when it is static (set in the
	// broker's properties, as it usually is); "" asks for the cluster's dynamic default.
	name := ""
	if md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err == nil && len(md.Brokers) > 0 {
		name = strconv.Itoa(int(md.Brokers[0].NodeID))
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	res := kmsg.NewDescribeConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeBroker
	res.ResourceName = name
	res.ConfigNames = []string{"transaction.max.timeout.ms"}
	req.Resources = append(req.Resources, res)
	if resp, err := req.RequestWith(ctx, cl); err == nil {
		for _, r := range resp.Resources {
			for _, c := range r.Configs {
				if c.Name == "transaction.max.timeout.ms" && c.Value != nil {
					if ms, err := strconv.ParseInt(*c.Value, 10, 64); err == nil {
						max = (time.Duration(ms) * time.Millisecond).String()
					}
				}
			}
		}
	}
	return fmt.Errorf("the transaction timeout %v is above the brokers' transaction.max.timeout.ms (%s): lower TransactionTimeout or raise the brokers' maximum: %w", timeout, max, code)
}

// txnPart is a partition of an exactly-once sink.
type txnPart[T any] struct {
	sink *Sink[T]
	part sink.Part
	opts []kgo.Opt // every producer's, but its transactional id
	base string
	open *txnSlot // the transaction of the epoch being written; the worker's own

	mu       sync.Mutex
	slots    []*txnSlot // ids base/0 to base/len-1: added by the worker, never removed
	prepared []*txnSlot // flushed, not yet committed, in epoch order
	err      error      // a commit that failed: every call after it fails
}

// txnSlot is one transactional id of a partition, and its producer once used.
type txnSlot struct {
	i, records int // records: produced in the open transaction
	id         string
	prod       *producer
	busy       bool // open or prepared; under txnPart.mu
	tx         pendingTxn
}

var (
	_ sink.Committer = (*txnPart[Message])(nil)
	_ sink.Flusher   = (*txnPart[Message])(nil)
)

func (p *txnPart[T]) where() string {
	return fmt.Sprintf("weir: kafka: sink: %s partition %s", p.part.Step, p.part.Partition)
}

func (p *txnPart[T]) Write(items []T) error {
	if p.open == nil {
		if err := p.begin(); err != nil {
			return err
		}
	}
	n, err := p.sink.write(p.open.prod, items)
	p.open.records += n
	return err
}

// begin opens a transaction for the epoch being written, on a free slot.
func (p *txnPart[T]) begin() error {
	s, err := p.freeSlot()
	if err != nil {
		return err
	}
	if s.prod == nil {
		cl, err := kgo.NewClient(append(slices.Clip(p.opts), kgo.TransactionalID(s.id))...)
		if err != nil {
			return fmt.Errorf("%s: %w", p.where(), err)
		}
		s.prod = newProducer(cl)
	}
	if err := s.prod.cl.BeginTransaction(); err != nil {
		return p.txnErr(s, "beginning a transaction", err)
	}
	p.open = s
	return nil
}

// freeSlot takes a slot that is neither open nor prepared, or adds one. It never waits
// for a commit: the epochs prepared may commit only once this worker has told the others
// it closed them, which it may not have done yet (it can close several epochs in one
// go), so waiting could deadlock. The slots are as many as the epochs that close before
// the first of them commits: two while commits keep up.
func (p *txnPart[T]) freeSlot() (*txnSlot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	for _, s := range p.slots {
		if !s.busy {
			s.busy = true
			return s, nil
		}
	}
	s := &txnSlot{i: len(p.slots), id: slotID(p.base, len(p.slots)), busy: true}
	p.slots = append(p.slots, s)
	return s, nil
}

// Prepare is phase one, at epoch's close: the epoch's records are flushed to the
// brokers, within their transaction, and the position returned records every
// transaction prepared and not yet committed, so that a resumed run can commit them.
func (p *txnPart[T]) Prepare(epoch uint64) ([]byte, error) {
	if o := p.open; o != nil && o.records > 0 {
		if err := o.prod.flush(); err != nil {
			return nil, p.flushErr(o, err)
		}
		pid, pepoch, err := o.prod.cl.ProducerID(context.Background())
		if err != nil {
			return nil, p.txnErr(o, "reading the producer id", err)
		}
		o.tx = pendingTxn{slot: o.i, epoch: epoch, pid: pid, pepoch: pepoch}
		p.mu.Lock()
		p.prepared = append(p.prepared, o)
		p.mu.Unlock()
		p.open = nil
	}
	// An open transaction without records has nothing to commit: the next epoch's
	// records go on in it.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	snap := sinkSnapshot{base: p.base, slots: len(p.slots)}
	for _, s := range p.prepared {
		snap.pending = append(snap.pending, s.tx)
	}
	return snap.encode(), nil
}

// Commit is phase two: the transactions of the epochs up to epoch are committed.
func (p *txnPart[T]) Commit(epoch uint64) error {
	p.mu.Lock()
	var due []*txnSlot
	for _, s := range p.prepared {
		if s.tx.epoch > epoch {
			break
		}
		due = append(due, s)
	}
	err := p.err
	p.mu.Unlock()
	if err != nil {
		return err
	}
	for _, s := range due {
		// The snapshots taken meanwhile still list it: a resume after this commit
		// asks for it again, and is told it ended.
		if err := s.prod.cl.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
			err = p.txnErr(s, fmt.Sprintf("committing the transaction of epoch %d", s.tx.epoch), err)
			p.mu.Lock()
			p.err = cmpOr(p.err, err)
			p.mu.Unlock()
			return err
		}
		s.records = 0
		p.mu.Lock()
		p.prepared = p.prepared[1:]
		s.busy = false
		p.mu.Unlock()
	}
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Flush implements sink.Flusher: in a run without a recovery store, each epoch's
// transaction commits at its close.
func (p *txnPart[T]) Flush() error {
	o := p.open
	if o == nil || o.records == 0 {
		return nil
	}
	if err := o.prod.flush(); err != nil {
		return p.flushErr(o, err)
	}
	if err := o.prod.cl.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		return p.txnErr(o, "committing", err)
	}
	o.records = 0
	p.open = nil
	p.mu.Lock()
	o.busy = false
	p.mu.Unlock()
	return nil
}

// Snapshot is not called on a two-phase partition in a run with a recovery store: the
// engine calls Prepare instead.
func (p *txnPart[T]) Snapshot() []byte {
	panic(fmt.Errorf("%s: Snapshot called on an exactly-once sink: the engine must call Prepare", p.where()))
}

// Close aborts the transaction of the epoch being written, which was never prepared,
// and closes the producers. Transactions prepared and not committed are left open: their
// epochs may be committed in the store, and the next run finishes or aborts them.
func (p *txnPart[T]) Close() error {
	var err error
	if o := p.open; o != nil {
		ctx := context.Background()
		if e := o.prod.cl.AbortBufferedRecords(ctx); e != nil {
			err = p.txnErr(o, "aborting", e)
		} else if e := o.prod.cl.EndTransaction(ctx, kgo.TryAbort); e != nil {
			err = p.txnErr(o, "aborting", e)
		}
		p.open = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.slots {
		if s.prod != nil {
			s.prod.cl.Close()
		}
	}
	return err
}

// txnErr wraps err, of doing what on slot s's transaction, naming the partition and
// the transactional id, and saying so when another producer fenced this one.
func (p *txnPart[T]) txnErr(s *txnSlot, what string, err error) error {
	switch {
	case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
		return fmt.Errorf("%s: %s (transactional id %q): %w: %w", p.where(), what, s.id, ErrFenced, err)
	case errors.Is(err, kerr.InvalidTxnState):
		// A coordinator of transactions v2 answers so when the transaction was aborted
		// under the producer and its epoch bumped once: by another producer initialising
		// the id, or by the transaction's timeout.
		return fmt.Errorf("%s: %s (transactional id %q): the transaction was aborted, by its timeout or because %w: %w", p.where(), what, s.id, ErrFenced, err)
	}
	return fmt.Errorf("%s: %s (transactional id %q): %w", p.where(), what, s.id, err)
}

// flushErr is the error of a record of slot s's transaction: its *ProduceError names
// the topic and partition; a fenced producer's says so.
func (p *txnPart[T]) flushErr(s *txnSlot, err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		return fmt.Errorf("%w (transactional id %q: %w)", err, s.id, ErrFenced)
	}
	return err
}
