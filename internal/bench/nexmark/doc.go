// Package nexmark runs the Nexmark benchmark on weir: an online auction site's stream of
// new people, new auctions and bids, and the standard queries over it.
//
// # Events
//
// The generator follows the rules of the reference generator of Apache Beam's Java SDK,
// which nexmark-flink also uses, so that the events, and so the queries' results, are the
// ones other systems are measured on. Every event is a pure function of its event number
// n: a java.util.Random (reproduced bit for bit) is seeded with n and drawn from in the
// reference's order. Of every 50 events, 1 is a Person, 3 are Auctions and 46 are Bids.
// Person and auction ids are dense from 1000; auctions and bids mostly name "hot" sellers,
// bidders and auctions, else one of the recently active ones, sometimes a few ids ahead of
// the last generated, as if events had been reordered. Prices are log-uniform from 1 to
// 1,000,000 dollars, in cents, and each kind is padded with Extra to an average size.
//
// Config.Event returns any one event; a Source generates them in batches, split into
// partitions that each read every P-th block of event numbers, resumable from a
// partition's next event number.
//
// # Deviations from the reference
//
// The reference runs numEventGenerators timelines side by side, each with its own ids;
// this generator runs one (numEventGenerators = 1, and outOfOrderGroupSize = 1: event time
// never goes back), and splits it into partitions by blocks of event numbers instead, so
// that an event is the same whatever the number of partitions.
//
// The reference's delay between events is a whole number of microseconds, which is zero
// above a million events per second. As in nexmark-flink, the delay here is a float64,
// 1e6/Rate, and event n happens at BaseTime + int64(n*delay)/1000 milliseconds. The default
// rate is the reference's 10,000 events per second of event time; weir reads them much
// faster than that. (At nexmark-flink's 10 million per second, 10,000 events would share a
// millisecond, auctions would last a millisecond or two, and a 10 s window would hold
// every event of a 100M-event run.)
//
// The reference spreads its 10,000 events per second over 100 generators, so one
// generator's events are 10 ms apart, from 2015-07-15T00:00:00Z. Rate 100 with that
// BaseTime is that timeline exactly (a whole 10,000 µs delay either way): the stream of
// the reference's generator read as one, as its query models read it, and the stream any
// runner reads when the reference runs with one generator at 100 events per second. Its
// results can be compared with the reference's event for event; the command nexmark's
// documentation gives the flags.
//
// Prices go through a Go power of ten, which may differ from Java's Math.pow in the last
// bit; that changes a price only when it lands within that bit of half a cent. An
// independent Java program following the reference rules gave the same events as this
// package for the first three million events and a million others.
//
// # Queries
//
// Q0 to Q8 are weir dataflows with the reference's semantics (Beam's Nexmark suite):
// pass-through, currency conversion, selection, an incremental join of sellers and their
// auctions, the average winning price per category over sliding windows, the auctions
// with the most bids per sliding window, the average selling price per seller over their
// last 10 auctions, the highest bids per tumbling window, and the people who opened
// auctions in the window they joined. Each query's doc comment states its exact rules,
// and reference.go computes each one with plain loops; Verify compares the two.
//
// Q4 and Q6 build on WinningBids, which follows the reference's: an auction and its bids
// meet in a window [DateTime, Expires), so a bid counts if it is made before the expiry,
// even before the auction itself, and not at the expiry or after. The winner comes out,
// as a window's output does, at the window's last instant, Expires less 1 ms
// (AuctionBid.Time), and Q4's sliding windows take it at that time.
//
// Watermarks in weir are per key. The steps that need one event-time order over the
// whole stream (a window's global maximum, an auction's close, a window's join) therefore
// run under a single key, after a per-batch reduction that keeps what reaches them small:
// counts per auction for Q5, each batch's highest bids for Q7, per auction the bids that
// could still win for Q4 and Q6. Events may trail the latest one by Params.Wait; the
// Source keeps its partitions within MaxLead blocks of each other so that they do, and a
// run counts the events that came too late (Result.Late).
//
// # Recovery
//
// Options.Recovery runs a query with a recovery store, snapshotting every epoch
// (Options.EpochInterval, 10 s by default); CompareRecovery runs a query without and with
// one, alternated, as the command's -r does. The outputs are the same either way
// (TestQueriesMatchReference checks each query with epochs of 20 ms). The steps that run
// under a single key hold their whole state in that key, so each of their snapshots
// writes all of it: WinningBids' open auctions, pending bids and recent closes for Q4 and
// Q6, Q3's sellers and auctions waiting, and the open windows of Q4, Q5, Q7 and Q8.
package nexmark
