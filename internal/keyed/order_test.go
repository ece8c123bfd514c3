package keyed

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// member is an owner of an order slot, as the runtime's entries are.
type member struct {
	order orderSlot[member]
	n     int
}

func newMember(key string) *member {
	m := &member{}
	m.order = newOrderSlot(key, m)
	return m
}

// FuzzKeyOrder checks keyOrder against a model, a set of live keys whose order is a sorted
// slice of them: the fuzz bytes are a sequence of operations (add keys, touch a subset,
// touch most keys, discard keys, sweep, walk all keys), and after every one the order's
// lists must agree with the model. Keys are decimal numbers of different lengths, so that
// byte-wise order differs from numeric order. The seeds run as a unit test.
func FuzzKeyOrder(f *testing.F) {
	f.Add([]byte{0, 3, 1, 1, 4, 0, 2, 1, 2, 3, 4})
	f.Add([]byte{0, 40, 7, 1, 30, 1, 1, 250, 2, 2, 20, 4, 1, 250, 9})
	f.Add([]byte{0, 255, 1, 5, 0, 255, 2, 5, 1, 0, 255, 3, 2, 80, 1, 40, 2, 5, 3})
	// Long runs: keys that come and go in many sizes of batch, past the sweep's threshold.
	addRandomSeeds(f, 99, 400)
	f.Fuzz(func(t *testing.T, ops []byte) {
		var o keyOrder[member]
		live := map[string]*member{} // the model
		sortedLive := func() []string {
			keys := make([]string, 0, len(live))
			for k := range live {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return keys
		}
		keysOf := func(slots []*orderSlot[member]) []string {
			keys := make([]string, len(slots))
			for i, s := range slots {
				if s.owner.order.key != s.key {
					t.Fatalf("slot of %q hands back the owner of %q", s.key, s.owner.order.key)
				}
				keys[i] = s.key
			}
			return keys
		}
		// pick returns n distinct live keys chosen by seed, in no order.
		pick := func(n int, seed byte) []*member {
			all := sortedLive()
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			ms := make([]*member, max(0, min(n, len(all))))
			for i := range ms {
				ms[i] = live[all[i]]
			}
			return ms
		}
		touch := func(ms []*member) {
			batch := make([]*orderSlot[member], len(ms))
			ranked := true
			for i, m := range ms {
				batch[i] = &m.order
				ranked = ranked && m.order.rank >= 0
			}
			want := keysOf(batch)
			slices.Sort(want)
			if got := keysOf(o.inOrder(batch, ranked)); !slices.Equal(got, want) {
				t.Fatalf("inOrder of %d keys (ranked %v): %v, want %v", len(ms), ranked, got, want)
			}
		}
		for i := 0; i+1 < len(ops); i += 2 {
			arg := ops[i+1]
			switch ops[i] % 6 {
			case 0: // add up to 8*arg+1 keys, some of them live already
				r := rand.New(rand.NewPCG(uint64(arg), 3))
				for range 8*int(arg) + 1 {
					k := strconv.Itoa(r.IntN(3000))
					if live[k] == nil {
						live[k] = newMember(k)
						o.add(&live[k].order)
					}
				}
			case 1: // touch a subset of 4*arg keys
				touch(pick(4*int(arg), arg))
			case 2: // touch all but arg%8 keys
				touch(pick(len(live)-int(arg%8), arg))
			case 3: // discard up to arg%64 keys
				for _, m := range pick(int(arg%64), arg) {
					o.discard(&m.order)
					delete(live, m.order.key)
				}
			case 4:
				o.sweep()
				if len(o.fresh) != 0 || o.dead != 0 {
					t.Fatalf("after a sweep: %d fresh, %d dead", len(o.fresh), o.dead)
				}
			case 5: // walk every key, discarding some on the way as OnEOF may
				want := sortedLive()
				var got []string
				for _, s := range o.all() {
					if s.dead {
						continue
					}
					got = append(got, s.key)
					if arg != 0 && len(s.key)%int(arg) == 0 {
						o.discard(s)
						delete(live, s.key)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("all: %v, want %v", got, want)
				}
			}
			checkOrder(t, &o, live)
		}
	})
}

// checkOrder checks the rules of o against the live keys of the model: sorted in strict
// key order with each slot knowing its rank, fresh slots unranked, the dead counted, and
// every live key's slot held once.
func checkOrder(t *testing.T, o *keyOrder[member], live map[string]*member) {
	t.Helper()
	if o.len() != len(live) {
		t.Fatalf("len %d, want %d live keys", o.len(), len(live))
	}
	dead := 0
	held := map[*orderSlot[member]]int{}
	for i, s := range o.sorted {
		if i > 0 && o.sorted[i-1].key >= s.key {
			t.Fatalf("sorted[%d] %q after %q", i, s.key, o.sorted[i-1].key)
		}
		if int(s.rank) != i {
			t.Fatalf("sorted[%d] %q has rank %d", i, s.key, s.rank)
		}
		held[s]++
	}
	for _, s := range o.fresh {
		if s.rank != -1 {
			t.Fatalf("fresh %q has rank %d", s.key, s.rank)
		}
		held[s]++
	}
	for s, n := range held {
		if n > 1 {
			t.Fatalf("%q held %d times", s.key, n)
		}
		if s.dead {
			dead++
		} else if live[s.key] == nil || &live[s.key].order != s {
			t.Fatalf("%q held live but the model has no such key", s.key)
		}
	}
	if dead != o.dead {
		t.Fatalf("%d dead slots held, counted %d", dead, o.dead)
	}
	for k, m := range live {
		if held[&m.order] != 1 {
			t.Fatalf("live key %q not held", k)
		}
	}
}

// A steady set of keys, some of them added since the last sweep, and batches that touch
// too few of them to sweep them in: the order sweeps once sorting the batches has cost
// about as much as a sweep, rather than sort every batch for ever.
func TestKeyOrderSweepsWhenSortingCostsMore(t *testing.T) {
	var o keyOrder[member]
	var ms []*member
	add := func(n int) {
		for range n {
			m := newMember(strconv.Itoa(len(ms)))
			ms = append(ms, m)
			o.add(&m.order)
		}
	}
	add(2000)
	o.sweep()
	add(1000) // fewer than the 1024 that sweep without asking
	r := rand.New(rand.NewPCG(1, 1))
	for round := range 100 {
		batch := make([]*orderSlot[member], 0, 100)
		ranked := true
		for _, i := range r.Perm(len(ms))[:100] { // a thirtieth of the keys
			batch = append(batch, &ms[i].order)
			ranked = ranked && ms[i].order.rank >= 0
		}
		if got := o.inOrder(batch, ranked); !slices.IsSortedFunc(got, byKey) {
			t.Fatalf("round %d: out of key order", round)
		}
	}
	if len(o.fresh) != 0 {
		t.Errorf("after 100 batches of 100 of %d keys, %d never swept in", len(ms), len(o.fresh))
	}
}

// Keys that come and go a few at a time among many steady ones (a windowed count's key
// whose window its timer closed before the key's next item) leave a few unranked slots in
// batches of ranked ones: such a batch is put in order by its ranks, each unranked slot
// placed by a search of the sorted keys, not sorted whole by comparison (before, a
// windowed count of 10k keys sorted one batch in thirteen that way, 4.6% of its CPU time),
// until the searches add up to a sweep.
func TestKeyOrderPlacesFewFresh(t *testing.T) {
	var o keyOrder[member]
	var ms []*member
	for i := range 4000 {
		m := newMember(strconv.Itoa(i * 3)) // room between keys for new ones
		ms = append(ms, m)
		o.add(&m.order)
	}
	o.sweep()
	// Discard some keys and bring them back, and add keys that fall between others, before
	// the first key and after the last.
	for _, i := range []int{0, 17, 1234, 3999} {
		o.discard(&ms[i].order)
		ms[i] = newMember(ms[i].order.key)
		o.add(&ms[i].order)
	}
	for _, k := range []string{"", "1", "5000", "10000", "99999"} {
		m := newMember(k)
		ms = append(ms, m)
		o.add(&m.order)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		batch := make([]*orderSlot[member], 0, 1024)
		ranked, fresh := true, 0
		for _, i := range r.Perm(len(ms))[:1024-8] {
			if ms[i].order.rank < 0 {
				continue
			}
			batch = append(batch, &ms[i].order)
		}
		for i, m := range ms {
			if m.order.rank < 0 && (i+round)%2 == 0 { // about half of the unranked each round
				batch = append(batch, &m.order)
				ranked, fresh = false, fresh+1
			}
		}
		r.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		want := make([]string, len(batch))
		for i, s := range batch {
			want[i] = s.key
		}
		slices.Sort(want)
		sorts := o.sorts
		got := o.inOrder(batch, ranked)
		keys := make([]string, len(got))
		for i, s := range got {
			keys[i] = s.key
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("round %d: %v, want %v", round, keys, want)
		}
		if n := o.sorts - sorts; n != fresh {
			t.Fatalf("round %d: %d keys counted as sorted for %d unranked in a batch of %d, want %d", round, n, fresh, len(batch), fresh)
		}
	}
	if len(o.fresh) == 0 {
		t.Error("the unranked keys were swept in: the batches did not test placing them")
	}
	checkOrder(t, &o, func() map[string]*member {
		live := map[string]*member{}
		for _, m := range ms {
			live[m.order.key] = m
		}
		return live
	}())
}

// addRandomSeeds adds three seeds of n random operation bytes from stream, so that the
// seeds alone run long sequences of operations.
func addRandomSeeds(f *testing.F, stream uint64, n int) {
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, stream))
		ops := make([]byte, n)
		for i := range ops {
			ops[i] = byte(r.UintN(256))
		}
		f.Add(ops)
	}
}
