package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// anchor moves the input topic's records to out through the map with franz-go alone: one
// consumer of every partition from its start to the end offsets listed at start, and one
// producer, idempotent (at-least-once) or transactional with a transaction committed every
// interval (exactly-once, as weir's epochs), flushed at the end. It is what a Go program
// without weir does for the same work.
func anchor(ctx context.Context, addrs []string, in, out string, exactly bool, interval time.Duration) (int, error) {
	ends, err := endOffsets(ctx, addrs, in)
	if err != nil {
		return 0, err
	}
	from := map[int32]kgo.Offset{}
	for p := range ends {
		from[p] = kgo.NewOffset().AtStart()
	}
	copts := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in: from})}
	consumer, err := kgo.NewClient(copts...)
	if err != nil {
		return 0, err
	}
	defer consumer.Close()
	popts := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(out)}
	if exactly {
		popts = append(popts, kgo.TransactionalID("weir-bench-anchor-"+out))
	}
	producer, err := kgo.NewClient(popts...)
	if err != nil {
		return 0, err
	}
	defer producer.Close()
	var (
		mu      sync.Mutex
		perr    error
		written int
	)
	promise := func(_ *kgo.Record, err error) {
		mu.Lock()
		if err != nil && perr == nil {
			perr = err
		}
		mu.Unlock()
	}
	begin := func() error {
		if exactly {
			return producer.BeginTransaction()
		}
		return nil
	}
	commit := func() error {
		if err := producer.Flush(ctx); err != nil || !exactly {
			return err
		}
		return producer.EndTransaction(ctx, kgo.TryCommit)
	}
	if err := begin(); err != nil {
		return 0, err
	}
	next := time.Now().Add(interval)
	left := len(ends)
	for p, e := range ends {
		if e == 0 {
			delete(ends, p)
			left--
		}
	}
	for left > 0 {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			return 0, fmt.Errorf("anchor: fetch: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			producer.Produce(ctx, mapRecord(r, out), promise)
			written++
			if r.Offset == end-1 {
				delete(ends, r.Partition)
				left--
			}
		})
		if exactly && time.Now().After(next) {
			if err := commit(); err != nil {
				return 0, err
			}
			if err := begin(); err != nil {
				return 0, err
			}
			next = time.Now().Add(interval)
		}
	}
	if err := commit(); err != nil {
		return 0, err
	}
	mu.Lock()
	defer mu.Unlock()
	return written, perr
}

// endOffsets returns topic's end offsets per partition.
func endOffsets(ctx context.Context, addrs []string, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	l, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	l.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends, nil
}
