package nexmark

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The expected values of these tests were printed by java.util.Random itself (OpenJDK
// 17), not by the port.
func TestRandomGolden(t *testing.T) {
	tests := []struct {
		name string
		seed int64
		draw func(r *javaRandom) any
		want any
	}{
		{"nextInt seed 0", 0, func(r *javaRandom) any { return r.nextInt() }, int32(-1155484576)},
		{"nextInt seed 42", 42, func(r *javaRandom) any { return r.nextInt() }, int32(-1170105035)},
		{"nextLong seed 0", 0, func(r *javaRandom) any { return r.nextLong() }, int64(-4962768465676381896)},
		{"nextDouble seed 0", 0, func(r *javaRandom) any { return r.nextDouble() }, 0.730967787376657},
		{"nextInt(1e9+7) x5 seed 1", 1, func(r *javaRandom) any {
			return draws(5, func() int64 { return int64(r.nextIntn(1000000007)) })
		}, []int64{569548978, 215764588, 880641847, 874970313, 446064254}},
		{"nextInt(16) x5 seed -7", -7, func(r *javaRandom) any {
			return draws(5, func() int64 { return int64(r.nextIntn(16)) })
		}, []int64{4, 14, 10, 15, 8}},
		{"nextLong x3 seed 123456789", 123456789, func(r *javaRandom) any {
			return draws(3, r.nextLong)
		}, []int64{-6197403153606331135, 8429272609719263920, 7203573180470058788}},
		{"mixed seed 0", 0, func(r *javaRandom) any {
			return []any{r.nextIntn(10), r.nextIntn(13), r.nextIntn(26), r.nextDouble()}
		}, []any{int32(0), int32(5), int32(23), 0.6063452159973596}},
		// 1<<30+1 rejects draws past the last full run of the bound: the wrap-around path.
		{"large bounds seed 5", 5, func(r *javaRandom) any {
			return []int32{r.nextIntn(1<<31 - 1), r.nextIntn(1 << 30), r.nextIntn(1<<30 + 1)}
		}, []int32{1568779487, 189625046, 189533474}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newJavaRandom(tt.seed)
			if got := tt.draw(&r); !equalAny(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func draws(n int, f func() int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = f()
	}
	return s
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []int64:
		return slices.Equal(a, b.([]int64))
	case []int32:
		return slices.Equal(a, b.([]int32))
	case []any:
		return slices.Equal(a, b.([]any))
	}
	return a == b
}

func FuzzRandomIntn(f *testing.F) {
	f.Add(int64(0), int32(1))
	f.Add(int64(-1), int32(7))
	f.Add(int64(42), int32(1<<30))
	f.Add(int64(1<<62), int32(1<<30+1))
	f.Add(int64(-9), int32(1<<31-1))
	f.Fuzz(func(t *testing.T, seed int64, bound int32) {
		if bound <= 0 {
			return
		}
		r := newJavaRandom(seed)
		for range 64 {
			if v := r.nextIntn(bound); v < 0 || v >= bound {
				t.Fatalf("nextIntn(%d) = %d", bound, v)
			}
		}
		if d := r.nextDouble(); d < 0 || d >= 1 {
			t.Fatalf("nextDouble() = %v", d)
		}
	})
}

// TestGenDerivation steps the Java LCG by hand for events 0 and 1, so that the golden
// values below are not only the port's own output. With seed s the state starts at
// (s ^ 0x5DEECE66D) mod 2^48; each draw sets state = state*0x5DEECE66D + 0xB mod 2^48
// and next(31) is state>>17. nextInt(b) is (b*next(31))>>31 for a power of two b, else
// next(31) % b (no draw below is rejected).
//
// Event 0 is a person (0 % 50 == 0), seed 0:
//
//	first name  next(31)=1569741360 % 11 = 0       "Peter"
//	last name   next(31)=1785505948 % 9  = 7       "Jones"
//	user length (4*516548029)>>31 = 0, so 3 chars  "nhd" (draws of 13 and 26 per char)
//	host length (2*1678332854)>>31 = 1, so 4 chars "xcat"
//	card        2021317241, 377907320, 590459143, 672024888 % 10000
//	            = "7241 7320 9143 4888"
//	city        276804524 % 10 = 4                 "Portland"
//	state       790221947 % 6 = 5                  "WY"
//	extra       size 8+11+12+19+8+2 = 60, padding 200-60 = 140, delta round(28.0) = 28:
//	            length 140-28 + 314824652 % 56 = 112+44 = 156
//
// Event 1 is an auction (1 % 50 == 1), seed 1, id lastBase0AuctionID(1)+1000 = 1000:
//
//	hot seller? (4*1569548985)>>31 = 2 > 0: the hot seller (0/100)*100 + 1000 = 1000
//	category    215764588 % 5 = 3: 13
//	initial bid next(26)=27520057, next(27)=54685644: nextDouble 0.41008081149220166,
//	            10^(6*0.41008...)*100 = 28872.53... rounds to 28873
//	expires     at 10M events/s the auction 1666 events ahead has the same millisecond:
//	            horizon 0, so nextInt(1) = 0 and Expires = DateTime + 1
//	name length 77814904 % 17 = 5, so 8 chars: "wkx mgee"
func TestGenDerivation(t *testing.T) {
	steps := []struct {
		bound int32
		raw   int32 // next(31)
		want  int32
	}{
		{11, 1569741360, 0},
		{9, 1785505948, 7},
		{4, 516548029, 0},
	}
	r := newJavaRandom(0)
	if r.seed != 0x5DEECE66D {
		t.Fatalf("state after setSeed(0) = %#x", r.seed)
	}
	for i, s := range steps {
		probe := r
		if raw := probe.next(31); raw != s.raw {
			t.Errorf("step %d: next(31) = %d, want %d", i, raw, s.raw)
		}
		if got := r.nextIntn(s.bound); got != s.want {
			t.Errorf("step %d: nextInt(%d) = %d, want %d", i, s.bound, got, s.want)
		}
	}
	r = newJavaRandom(1)
	if got := r.nextIntn(4); got != 2 {
		t.Errorf("seed 1: nextInt(4) = %d, want 2", got)
	}
	if got := r.nextIntn(5); got != 3 {
		t.Errorf("seed 1: nextInt(5) = %d, want 3", got)
	}
	if got := r.nextDouble(); got != 0.41008081149220166 {
		t.Errorf("seed 1: nextDouble() = %v, want 0.41008081149220166", got)
	}

	c := pinnedConfig()
	p := c.Event(0).Person
	if p == nil || p.Name != "Peter Jones" || p.EmailAddress != "nhd@xcat.com" || p.CreditCard != "7241 7320 9143 4888" ||
		p.City != "Portland" || p.State != "WY" || len(p.Extra) != 156 {
		t.Errorf("event 0 = %+v, not the derived person", p)
	}
	a := c.Event(1).Auction
	if a == nil || a.ID != 1000 || a.Seller != 1000 || a.Category != 13 || a.InitialBid != 28873 ||
		a.Expires != a.DateTime+1 || a.ItemName != "wkx mgee" {
		t.Errorf("event 1 = %+v, not the derived auction", a)
	}
}

const t0 = 1_700_000_000_000

// TestGenGolden pins events as printed by an independent Java program that follows the
// reference rules with java.util.Random and Math.pow; the port matched it on the first
// three million events at 10M events/s and on others at 1000 and 7 events/s. Extra is
// pinned by its length and first characters.
func TestGenGolden(t *testing.T) {
	type extra struct {
		n      int
		prefix string
	}
	tests := []struct {
		rate    float64
		n       int64
		person  *Person
		auction *Auction
		bid     *Bid
		extra   extra
	}{
		{rate: 10e6, n: 0, person: &Person{ID: 1000, Name: "Peter Jones", EmailAddress: "nhd@xcat.com", CreditCard: "7241 7320 9143 4888",
			City: "Portland", State: "WY", DateTime: t0}, extra: extra{156, "WN_HS_bnpkkiwhwa"}},
		{rate: 10e6, n: 1, auction: &Auction{ID: 1000, ItemName: "wkx mgee", Description: "eszpqxtdxrvwmmywkmogoahf", InitialBid: 28873,
			Reserve: 29448, DateTime: t0, Expires: t0 + 1, Seller: 1000, Category: 13}, extra: extra{346, "zcurskufssowmihz"}},
		{rate: 10e6, n: 2, auction: &Auction{ID: 1001, ItemName: "z ck w",
			Description: "cwlachrnkfzkygsu edjytotggvasbt z yjjszhhsqtrgzblkaolzkhlldqedvgj fdbvswemnzshmwipqrzqfkd",
			InitialBid:  25626290, Reserve: 28805847, DateTime: t0, Expires: t0 + 1, Seller: 1000, Category: 12}, extra: extra{319, "jzlkehMZPLIIwtop"}},
		{rate: 10e6, n: 3, auction: &Auction{ID: 1002, ItemName: "gxycmhtobprpd",
			Description: "ybjpocsabdbtiqzhbupw ihlxbsqjkmp lbupz bcqnghg fojwfqs",
			InitialBid:  267, Reserve: 422398, DateTime: t0, Expires: t0 + 1, Seller: 1000, Category: 10}, extra: extra{407, "JKSLMTmulfbwHKXU"}},
		{rate: 10e6, n: 4, bid: &Bid{Auction: 1000, Bidder: 1001, Price: 32530001, DateTime: t0}, extra: extra{77, "fdiysaV^]NLVsbol"}},
		{rate: 10e6, n: 49, bid: &Bid{Auction: 1000, Bidder: 1001, Price: 545, DateTime: t0}, extra: extra{66, "_S\\XKSaJKYT_zxpt"}},
		{rate: 10e6, n: 50, person: &Person{ID: 1001, Name: "Sarah Smith", EmailAddress: "f  y@yumv.com", CreditCard: "0892 2755 1923 0591",
			City: "Los Angeles", State: "ID", DateTime: t0}, extra: extra{153, "`RT]WInnxtneWPLP"}},
		{rate: 10e6, n: 1000, person: &Person{ID: 1020, Name: "Walter Abrams", EmailAddress: "alkt@csxs.com", CreditCard: "0871 2589 0002 1693",
			City: "San Francisco", State: "CA", DateTime: t0}, extra: extra{140, "KUH^JV`P^X\\YRIS`"}},
		// At 1000 events/s the auctions have a real horizon: 1666 ms ahead.
		{rate: 1000, n: 1, auction: &Auction{ID: 1000, ItemName: "wkx mgee", Description: "eszpqxtdxrvwmmywkmogoahf", InitialBid: 28873,
			Reserve: 29448, DateTime: t0 + 1, Expires: t0 + 2752, Seller: 1000, Category: 13}, extra: extra{346, "zcurskufssowmihz"}},
		{rate: 1000, n: 2, auction: &Auction{ID: 1001, ItemName: "z ck w",
			Description: "cwlachrnkfzkygsu edjytotggvasbt z yjjszhhsqtrgzblkaolzkhlldqedvgj fdbvswemnzshmwipqrzqfkd",
			InitialBid:  25626290, Reserve: 28805847, DateTime: t0 + 2, Expires: t0 + 1996, Seller: 1000, Category: 12}, extra: extra{319, "jzlkehMZPLIIwtop"}},
		{rate: 1000, n: 49, bid: &Bid{Auction: 1000, Bidder: 1001, Price: 545, DateTime: t0 + 49}, extra: extra{66, "_S\\XKSaJKYT_zxpt"}},
	}
	for _, tt := range tests {
		c := pinnedConfig()
		c.Rate = tt.rate
		e := c.Event(tt.n)
		var got string
		switch {
		case tt.person != nil:
			if e.Person == nil {
				t.Errorf("rate %v event %d: %+v, want a person", tt.rate, tt.n, e)
				continue
			}
			p := *e.Person
			got, p.Extra = p.Extra, ""
			if p != *tt.person {
				t.Errorf("rate %v event %d:\n got %+v\nwant %+v", tt.rate, tt.n, p, *tt.person)
			}
		case tt.auction != nil:
			if e.Auction == nil {
				t.Errorf("rate %v event %d: %+v, want an auction", tt.rate, tt.n, e)
				continue
			}
			a := *e.Auction
			got, a.Extra = a.Extra, ""
			if a != *tt.auction {
				t.Errorf("rate %v event %d:\n got %+v\nwant %+v", tt.rate, tt.n, a, *tt.auction)
			}
		default:
			if e.Bid == nil {
				t.Errorf("rate %v event %d: %+v, want a bid", tt.rate, tt.n, e)
				continue
			}
			b := *e.Bid
			got, b.Extra = b.Extra, ""
			if b != *tt.bid {
				t.Errorf("rate %v event %d:\n got %+v\nwant %+v", tt.rate, tt.n, b, *tt.bid)
			}
		}
		if len(got) != tt.extra.n || !strings.HasPrefix(got, tt.extra.prefix) {
			t.Errorf("rate %v event %d: Extra %q (%d bytes), want %d bytes starting %q", tt.rate, tt.n, got, len(got), tt.extra.n, tt.extra.prefix)
		}
	}
}

func sameEvent(a, b Event) bool {
	switch {
	case a.Person != nil:
		return b.Person != nil && *a.Person == *b.Person && a.Auction == nil && a.Bid == nil
	case a.Auction != nil:
		return b.Auction != nil && *a.Auction == *b.Auction && a.Bid == nil
	case a.Bid != nil:
		return b.Bid != nil && *a.Bid == *b.Bid
	}
	return b == a
}

// TestGenDeterministic checks that an event does not depend on the batch it is generated
// in, nor on what the generator made before.
func TestGenDeterministic(t *testing.T) {
	c := pinnedConfig()
	const n = 3000
	want := make([]Event, n)
	for i := range want {
		want[i] = c.Event(int64(i))
		if !sameEvent(want[i], c.Event(int64(i))) {
			t.Fatalf("event %d differs between two calls", i)
		}
	}
	for _, size := range []int{1, 7, 50, 1024, n} {
		g := newGenerator(c)
		buf := make([]Event, size)
		// Odd offsets make the batches straddle the 50-event rounds differently.
		for _, start := range []int{0, 13, 999} {
			for lo := start; lo < n; lo += size {
				b := buf[:min(size, n-lo)]
				g.fill(b, int64(lo))
				for i, e := range b {
					if !sameEvent(e, want[lo+i]) {
						t.Fatalf("batch size %d from %d: event %d = %+v, want %+v", size, start, lo+i, e, want[lo+i])
					}
				}
			}
		}
	}
}

func TestGenMix(t *testing.T) {
	c := pinnedConfig()
	for _, round := range []int64{0, 1, 777, 1 << 30} {
		var people, auctions, bids int
		for n := round * 50; n < (round+1)*50; n++ {
			e := c.Event(n)
			set := 0
			for _, p := range []bool{e.Person != nil, e.Auction != nil, e.Bid != nil} {
				if p {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("event %d has %d kinds set", n, set)
			}
			switch r := n % 50; {
			case r == 0 && e.Person != nil:
				people++
			case r >= 1 && r <= 3 && e.Auction != nil:
				auctions++
			case r >= 4 && e.Bid != nil:
				bids++
			default:
				t.Fatalf("event %d (offset %d in its round) is %+v", n, r, e)
			}
		}
		if people != 1 || auctions != 3 || bids != 46 {
			t.Errorf("round %d: %d people, %d auctions, %d bids, want 1:3:46", round, people, auctions, bids)
		}
	}
}

// TestGenModel checks the invariants the queries rely on over a long prefix of the
// stream: dense increasing ids, references only to people and auctions that exist or are
// at most the lead ahead, prices in range, auctions that end after they start, and event
// time that never goes back.
func TestGenModel(t *testing.T) {
	for _, rate := range []float64{10e6, 1000} {
		c := pinnedConfig()
		c.Rate = rate
		g := newGenerator(c)
		buf := make([]Event, 1000)
		lastPerson, lastAuction := int64(firstPersonID-1), int64(firstAuctionID-1)
		var lastTime int64
		price := func(n, p int64) {
			if p < 100 || p > 100_000_000 {
				t.Fatalf("rate %v event %d: price %d out of [100, 100000000] cents", rate, n, p)
			}
		}
		person := func(n, id int64, what string) {
			if id < firstPersonID || id > lastPerson+personIDLead {
				t.Fatalf("rate %v event %d: %s %d, last person %d", rate, n, what, id, lastPerson)
			}
		}
		for lo := int64(0); lo < 200_000; lo += int64(len(buf)) {
			g.fill(buf, lo)
			for i, e := range buf {
				n := lo + int64(i)
				if e.Time() < lastTime || e.Time() < c.BaseTime {
					t.Fatalf("rate %v event %d: time %d after %d", rate, n, e.Time(), lastTime)
				}
				lastTime = e.Time()
				switch {
				case e.Person != nil:
					if e.Person.ID != lastPerson+1 {
						t.Fatalf("rate %v event %d: person %d after %d", rate, n, e.Person.ID, lastPerson)
					}
					lastPerson = e.Person.ID
				case e.Auction != nil:
					a := e.Auction
					if a.ID != lastAuction+1 {
						t.Fatalf("rate %v event %d: auction %d after %d", rate, n, a.ID, lastAuction)
					}
					lastAuction = a.ID
					person(n, a.Seller, "seller")
					price(n, a.InitialBid)
					if a.Reserve < a.InitialBid+100 || a.Expires <= a.DateTime ||
						a.Category < firstCategoryID || a.Category >= firstCategoryID+numCategories {
						t.Fatalf("rate %v event %d: auction %+v", rate, n, a)
					}
				default:
					b := e.Bid
					person(n, b.Bidder, "bidder")
					price(n, b.Price)
					if b.Auction < firstAuctionID || b.Auction > lastAuction+auctionIDLead {
						t.Fatalf("rate %v event %d: bid on auction %d, last auction %d", rate, n, b.Auction, lastAuction)
					}
				}
			}
		}
	}
}

func TestGenTimestamp(t *testing.T) {
	tests := []struct {
		rate float64
		n    int64
		want int64
	}{
		{10e6, 0, t0},
		{10e6, 9999, t0},
		{10e6, 10000, t0 + 1},
		{10e6, 1e9, t0 + 100_000},
		{1000, 1, t0 + 1},
		{1000, 1667, t0 + 1667},
		{3, 1, t0 + 333},
		{3, 3, t0 + 1000},
		{1e6, 123_456_789, t0 + 123_456},
	}
	for _, tt := range tests {
		c := pinnedConfig()
		c.Rate = tt.rate
		if got := newGenerator(c).timestamp(tt.n); got != tt.want {
			t.Errorf("rate %v: timestamp(%d) = %d, want %d", tt.rate, tt.n, got, tt.want)
		}
		if got := c.Event(tt.n).Time(); got != tt.want {
			t.Errorf("rate %v: Event(%d).Time() = %d, want %d", tt.rate, tt.n, got, tt.want)
		}
	}
}

// TestGenBeamTimeline checks the settings documented to reproduce Beam's default
// timeline: with Rate 100 and Beam's base time, event n happens at 2015-07-15T00:00:00Z
// plus 10n ms, as in Beam's generator (100 generators at 10,000 events/s in all: 10 ms
// between one generator's events), and auctions last up to twice the time of 1666 events.
func TestGenBeamTimeline(t *testing.T) {
	c := DefaultConfig()
	c.Rate = 100
	c.BaseTime = time.Date(2015, 7, 15, 0, 0, 0, 0, time.UTC).UnixMilli()
	if c.BaseTime != 1_436_918_400_000 {
		t.Fatalf("base time %d", c.BaseTime)
	}
	for _, n := range []int64{0, 1, 3, 49, 50, 99_999, 1_000_000, 123_456_789, 1e10} {
		if got, want := c.Event(n).Time(), c.BaseTime+10*n; got != want {
			t.Errorf("event %d at %d, want %d", n, got, want)
		}
	}
	// The auction 1666 events ahead is 16,660 ms ahead: lengths are 1 to 33,320 ms.
	var longest int64
	for n := int64(1); n < 50_000; n += 50 {
		for _, m := range []int64{n, n + 1, n + 2} {
			a := c.Event(m).Auction
			if d := a.Expires - a.DateTime; d < 1 || d > 33_320 {
				t.Fatalf("event %d: auction lasts %d ms", m, d)
			} else {
				longest = max(longest, d)
			}
		}
	}
	if longest < 30_000 {
		t.Errorf("longest auction %d ms, want close to 33,320", longest)
	}
}

// TestGenSizes checks that Extra pads each kind to its configured average size.
func TestGenSizes(t *testing.T) {
	c := pinnedConfig()
	var size, count [3]int
	for n := int64(0); n < 50_000; n++ {
		switch e := c.Event(n); {
		case e.Person != nil:
			p := e.Person
			size[0] += 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + len(p.Extra)
			count[0]++
		case e.Auction != nil:
			a := e.Auction
			size[1] += 8 + len(a.ItemName) + len(a.Description) + 40 + len(a.Extra)
			count[1]++
		default:
			size[2] += 32 + len(e.Bid.Extra)
			count[2]++
		}
	}
	for i, want := range []int{c.AvgPersonByteSize, c.AvgAuctionByteSize, c.AvgBidByteSize} {
		if avg := size[i] / count[i]; avg < want*95/100 || avg > want*105/100 {
			t.Errorf("kind %d: average size %d, want about %d", i, avg, want)
		}
	}
}

func TestGenValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"unbounded", func(c *Config) { c.Events = 0 }, true},
		{"no padding", func(c *Config) { c.AvgBidByteSize = 0 }, true},
		{"zero config", func(c *Config) { *c = Config{} }, false},
		{"zero rate", func(c *Config) { c.Rate = 0 }, false},
		{"negative base time", func(c *Config) { c.BaseTime = -1 }, false},
		{"zero hot ratio", func(c *Config) { c.HotBiddersRatio = 0 }, false},
		{"zero active people", func(c *Config) { c.ActivePeople = 0 }, false},
		{"negative size", func(c *Config) { c.AvgPersonByteSize = -1 }, false},
	}
	for _, tt := range tests {
		c := pinnedConfig()
		tt.change(&c)
		err := c.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v", tt.name, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "weir: nexmark: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}
}

func TestGenAllocs(t *testing.T) {
	g := newGenerator(pinnedConfig())
	buf := make([]Event, 1000)
	g.fill(buf, 0) // grow the arenas
	n := int64(1000)
	allocs := testing.AllocsPerRun(20, func() {
		g.fill(buf, n)
		n += int64(len(buf))
	})
	// Three slabs and three strings per batch.
	if allocs > 6 {
		t.Errorf("%v allocations per batch, want at most 6", allocs)
	}
}

// BenchmarkGenerate reports the cost of one event, in batches of DefaultBatchSize.
func BenchmarkGenerate(b *testing.B) {
	g := newGenerator(pinnedConfig())
	buf := make([]Event, DefaultBatchSize)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += len(buf) {
		g.fill(buf[:min(len(buf), b.N-n)], int64(n))
	}
}

// pinnedConfig is DefaultConfig at the rate the golden values below were derived at, 10M
// events per second, so that they do not move with the default rate.
func pinnedConfig() Config {
	c := DefaultConfig()
	c.Rate = 10_000_000
	return c
}
