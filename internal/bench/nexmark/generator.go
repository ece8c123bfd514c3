package nexmark

import (
	"errors"
	"math"
	"slices"
)

// Config sets what the generator produces. Start from DefaultConfig: the zero Config is
// not valid. The same Config always gives the same events.
type Config struct {
	// Events is the number of events of the stream; zero or less is unbounded. Default
	// 100,000,000.
	Events int64
	// Rate is the number of events per second of event time. Default 10,000, the
	// reference's overall rate: 100M events span 10,000 s, so the 10 s windows close a
	// thousand times during a run, and auctions last up to a third of a second. The
	// reference spreads that rate over 100 generators, each with its own timeline of
	// events 10 ms apart: Rate 100 and Beam's BaseTime give that timeline, event for
	// event (see the command nexmark).
	Rate float64
	// BaseTime is the time of event 0, in milliseconds since the Unix epoch. Default
	// 1,700,000,000,000 (2023-11-14T22:13:20Z): fixed, so that runs are reproducible.
	// Beam's is 1,436,918,400,000 (2015-07-15T00:00:00Z).
	BaseTime int64

	// ActivePeople is how many of the most recent people new auctions and bids pick
	// their seller or bidder from. Default 1000.
	ActivePeople int
	// InFlightAuctions is how many of the most recent auctions bids pick from, and sets
	// the average auction length: the event time of that many auctions. Default 100.
	InFlightAuctions int
	// HotAuctionRatio makes 1-1/HotAuctionRatio of the bids go to a hot auction. Default 2.
	HotAuctionRatio int
	// HotSellersRatio makes 1-1/HotSellersRatio of the auctions come from a hot seller.
	// Default 4.
	HotSellersRatio int
	// HotBiddersRatio makes 1-1/HotBiddersRatio of the bids come from a hot bidder.
	// Default 4.
	HotBiddersRatio int
	// AvgPersonByteSize is the average size of a person, reached by padding Extra.
	// Default 200.
	AvgPersonByteSize int
	// AvgAuctionByteSize is the average size of an auction, reached by padding Extra.
	// Default 500.
	AvgAuctionByteSize int
	// AvgBidByteSize is the average size of a bid, reached by padding Extra. Default 100.
	AvgBidByteSize int
}

// DefaultConfig returns the reference generator's defaults, with the event count of the
// nexmark-flink benchmarks.
func DefaultConfig() Config {
	return Config{
		Events:             100_000_000,
		Rate:               10_000,
		BaseTime:           1_700_000_000_000,
		ActivePeople:       1000,
		InFlightAuctions:   100,
		HotAuctionRatio:    2,
		HotSellersRatio:    4,
		HotBiddersRatio:    4,
		AvgPersonByteSize:  200,
		AvgAuctionByteSize: 500,
		AvgBidByteSize:     100,
	}
}

// Validate reports whether the generator can run with c.
func (c Config) Validate() error {
	switch {
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return errors.New("weir: nexmark: Rate must be positive and finite")
	case c.BaseTime < 0:
		return errors.New("weir: nexmark: BaseTime must not be negative")
	case !random32(c.ActivePeople), !random32(c.InFlightAuctions):
		return errors.New("weir: nexmark: ActivePeople and InFlightAuctions must be positive 32-bit ints")
	case !random32(c.HotAuctionRatio), !random32(c.HotSellersRatio), !random32(c.HotBiddersRatio):
		return errors.New("weir: nexmark: the hot ratios must be positive 32-bit ints")
	case !random32(c.AvgPersonByteSize + 1), !random32(c.AvgAuctionByteSize + 1), !random32(c.AvgBidByteSize + 1):
		return errors.New("weir: nexmark: the average byte sizes must be non-negative 32-bit ints")
	}
	return nil
}

// random32 reports whether n can bound a draw of java.util.Random.nextInt, whose bound is
// a positive int32.
func random32(n int) bool { return n > 0 && n <= math.MaxInt32 }

// Event returns the event with event number n (from 0). It is a pure function of c and
// n: the same n always gives the same event, however the stream is split. c must be
// valid (see Validate). Generating batches through a Source is much cheaper.
func (c Config) Event(n int64) Event {
	var e [1]Event
	g := newGenerator(c)
	g.fill(e[:], n)
	return e[0]
}

// The reference's fixed model constants.
const (
	firstPersonID   = 1000
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5

	// Of each 50 events, 1 is a person, 3 are auctions and 46 are bids.
	personProportion  = 1
	auctionProportion = 3
	totalProportion   = 50

	// A new auction or bid may name a person or auction up to this many ids past the
	// last one generated, as if events had been reordered.
	personIDLead  = 10
	auctionIDLead = 10

	// Hot sellers, bidders and auctions are the first (sellers) or second (bidders) of
	// each run of this many ids.
	hotSellerRatio  = 100
	hotAuctionRatio = 100
	hotBidderRatio  = 100

	minStringLength = 3
)

// usStates, usCities and the name lists are short so that the queries that filter on
// them find matches even in small runs.
var (
	usStates   = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}

	// fullNames holds every "first last" pair, so that a person's name costs no
	// allocation: index first*len(lastNames)+last.
	fullNames = func() []string {
		s := make([]string, 0, len(firstNames)*len(lastNames))
		for _, f := range firstNames {
			for _, l := range lastNames {
				s = append(s, f+" "+l)
			}
		}
		return s
	}()
)

// generator fills batches of events. Its strings are written into one byte arena per
// kind of event and converted to a string once per batch, each field then a substring:
// three string allocations per batch instead of one or more per event. One arena per
// kind keeps a retained person from pinning the bytes of the bids around it.
type generator struct {
	c              Config
	delayUs        float64 // event time between two events, in microseconds
	auctionHorizon int64   // events until InFlightAuctions more auctions are generated
	rnd            javaRandom
	person         arena
	auction        arena
	bid            arena
}

func newGenerator(c Config) *generator {
	return &generator{
		c:              c,
		delayUs:        1e6 / c.Rate,
		auctionHorizon: int64(c.InFlightAuctions) * totalProportion / auctionProportion,
	}
}

// arena collects the strings of one batch; fixups say where each goes once the batch's
// bytes are a string.
type arena struct {
	buf    []byte
	fixups []fixup
}

type fixup struct {
	dst    *string
	lo, hi int
}

// set records that *dst is the arena's bytes from lo to the end.
func (a *arena) set(dst *string, lo int) {
	a.fixups = append(a.fixups, fixup{dst: dst, lo: lo, hi: len(a.buf)})
}

// flush converts the batch's bytes to one string and hands out its pieces, then empties
// the arena for the next batch; the fixups' pointers are dropped so that the arena does
// not keep the batch's structs alive.
func (a *arena) flush() {
	if len(a.fixups) == 0 {
		return
	}
	s := string(a.buf)
	for i := range a.fixups {
		f := &a.fixups[i]
		*f.dst = s[f.lo:f.hi]
		f.dst = nil
	}
	a.buf, a.fixups = a.buf[:0], a.fixups[:0]
}

// timestamp returns the event time of event n. The product is truncated to whole
// microseconds before the division, as in nexmark-flink, whose anchors we compare with.
func (g *generator) timestamp(n int64) int64 {
	return g.c.BaseTime + int64(float64(n)*g.delayUs)/1000
}

// fill sets buf[i] to the event numbered n+i. The structs of a batch come from one slab
// per kind, allocated here: the caller may reuse buf, but what it points to is the
// receiver's to keep.
func (g *generator) fill(buf []Event, n int64) {
	var np, na int
	for i := range buf {
		switch r := (n + int64(i)) % totalProportion; {
		case r < personProportion:
			np++
		case r < personProportion+auctionProportion:
			na++
		}
	}
	var (
		people   []Person
		auctions []Auction
		bids     []Bid
	)
	if np > 0 {
		people = make([]Person, np)
	}
	if na > 0 {
		auctions = make([]Auction, na)
	}
	if nb := len(buf) - np - na; nb > 0 {
		bids = make([]Bid, nb)
	}
	for i := range buf {
		id := n + int64(i)
		// The reference seeds a fresh Random with the event id: this is what makes an
		// event independent of every other and of how the stream is split.
		g.rnd.setSeed(id)
		ts := g.timestamp(id)
		switch r := id % totalProportion; {
		case r < personProportion:
			p := &people[0]
			people = people[1:]
			g.nextPerson(p, id, ts)
			buf[i] = Event{Person: p}
		case r < personProportion+auctionProportion:
			a := &auctions[0]
			auctions = auctions[1:]
			g.nextAuction(a, id, ts)
			buf[i] = Event{Auction: a}
		default:
			b := &bids[0]
			bids = bids[1:]
			g.nextBid(b, id, ts)
			buf[i] = Event{Bid: b}
		}
	}
	g.person.flush()
	g.auction.flush()
	g.bid.flush()
}

// The draws below follow the reference's order exactly: the order decides every value.

func (g *generator) nextPerson(p *Person, id, ts int64) {
	r := &g.rnd
	p.ID = lastBase0PersonID(id) + firstPersonID
	p.DateTime = ts
	first := r.nextIntn(int32(len(firstNames)))
	last := r.nextIntn(int32(len(lastNames)))
	p.Name = fullNames[int(first)*len(lastNames)+int(last)]

	a := &g.person
	lo := len(a.buf)
	a.buf = g.appendString(a.buf, 7)
	a.buf = append(a.buf, '@')
	a.buf = g.appendString(a.buf, 5)
	a.buf = append(a.buf, ".com"...)
	a.set(&p.EmailAddress, lo)
	emailLen := len(a.buf) - lo

	lo = len(a.buf)
	for i := range 4 {
		if i > 0 {
			a.buf = append(a.buf, ' ')
		}
		d := r.nextIntn(10000)
		a.buf = append(a.buf, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
	}
	a.set(&p.CreditCard, lo)
	cardLen := len(a.buf) - lo

	p.City = usCities[r.nextIntn(int32(len(usCities)))]
	p.State = usStates[r.nextIntn(int32(len(usStates)))]

	size := 8 + len(p.Name) + emailLen + cardLen + len(p.City) + len(p.State)
	lo = len(a.buf)
	a.buf = g.appendExtra(a.buf, size, g.c.AvgPersonByteSize)
	a.set(&p.Extra, lo)
}

func (g *generator) nextAuction(au *Auction, id, ts int64) {
	r := &g.rnd
	au.ID = lastBase0AuctionID(id) + firstAuctionID
	au.DateTime = ts
	var seller int64
	if r.nextIntn(int32(g.c.HotSellersRatio)) > 0 {
		seller = lastBase0PersonID(id) / hotSellerRatio * hotSellerRatio
	} else {
		seller = g.nextBase0PersonID(id)
	}
	au.Seller = seller + firstPersonID
	au.Category = firstCategoryID + int64(r.nextIntn(numCategories))
	au.InitialBid = g.nextPrice()

	// Auctions last on average the event time in which InFlightAuctions more auctions
	// are generated, so that about that many are open at any time.
	horizon := g.timestamp(id+g.auctionHorizon) - ts
	au.Expires = ts + 1 + g.nextLong(max(horizon*2, 1))

	a := &g.auction
	lo := len(a.buf)
	a.buf = g.appendString(a.buf, 20)
	a.set(&au.ItemName, lo)
	nameLen := len(a.buf) - lo
	lo = len(a.buf)
	a.buf = g.appendString(a.buf, 100)
	a.set(&au.Description, lo)
	descLen := len(a.buf) - lo

	au.Reserve = au.InitialBid + g.nextPrice()
	lo = len(a.buf)
	a.buf = g.appendExtra(a.buf, 8+nameLen+descLen+8+8+8+8+8, g.c.AvgAuctionByteSize)
	a.set(&au.Extra, lo)
}

func (g *generator) nextBid(b *Bid, id, ts int64) {
	r := &g.rnd
	b.DateTime = ts
	var auction int64
	if r.nextIntn(int32(g.c.HotAuctionRatio)) > 0 {
		auction = lastBase0AuctionID(id) / hotAuctionRatio * hotAuctionRatio
	} else {
		auction = g.nextBase0AuctionID(id)
	}
	b.Auction = auction + firstAuctionID

	var bidder int64
	if r.nextIntn(int32(g.c.HotBiddersRatio)) > 0 {
		// The second of the run, so that hot bidders are not also hot sellers.
		bidder = lastBase0PersonID(id)/hotBidderRatio*hotBidderRatio + 1
	} else {
		bidder = g.nextBase0PersonID(id)
	}
	b.Bidder = bidder + firstPersonID
	b.Price = g.nextPrice()

	a := &g.bid
	lo := len(a.buf)
	a.buf = g.appendExtra(a.buf, 8+8+8+8, g.c.AvgBidByteSize)
	a.set(&b.Extra, lo)
}

// lastBase0PersonID returns the id, less firstPersonID, of the last person generated up
// to event id (that event's own person if it is one).
func lastBase0PersonID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	if offset >= personProportion {
		offset = personProportion - 1
	}
	return epoch*personProportion + offset
}

// lastBase0AuctionID returns the id, less firstAuctionID, of the last auction generated
// up to event id (that event's own auction if it is one); -1 before the first.
func lastBase0AuctionID(id int64) int64 {
	epoch, offset := id/totalProportion, id%totalProportion
	switch {
	case offset < personProportion:
		epoch--
		offset = auctionProportion - 1
	case offset >= personProportion+auctionProportion:
		offset = auctionProportion - 1
	default:
		offset -= personProportion
	}
	return epoch*auctionProportion + offset
}

// nextBase0PersonID picks one of the ActivePeople most recent people, or one of the
// personIDLead not generated yet. Bounding the choice to active people keeps the number
// of bids and auctions per person steady however long the stream runs.
func (g *generator) nextBase0PersonID(id int64) int64 {
	people := lastBase0PersonID(id) + 1
	active := min(people, int64(g.c.ActivePeople))
	return people - active + g.nextLong(active+personIDLead)
}

// nextBase0AuctionID picks one of the InFlightAuctions most recent auctions, the last
// one, or one of the auctionIDLead not generated yet.
func (g *generator) nextBase0AuctionID(id int64) int64 {
	last := lastBase0AuctionID(id)
	lo := max(last-int64(g.c.InFlightAuctions), 0)
	return lo + g.nextLong(last-lo+1+auctionIDLead)
}

// nextLong returns a value in [0, n) as the reference does: one 31-bit draw when n fits,
// else the (skewed) remainder of a 64-bit draw.
func (g *generator) nextLong(n int64) int64 {
	if n < math.MaxInt32 {
		return int64(g.rnd.nextIntn(int32(n)))
	}
	v := g.rnd.nextLong() % n
	if v < 0 {
		v = -v
	}
	return v
}

// nextPrice returns a price in cents from 1.00 to 1,000,000.00, log-uniform so that
// small prices are as common as large ones in each decade. Go's math.Pow may differ from
// Java's Math.pow in the last bit, which changes the rounded price only when it lands
// within that bit of a half cent.
func (g *generator) nextPrice() int64 {
	return int64(math.Round(pow10(g.rnd.nextDouble()*6) * 100))
}

// pow10 returns 10^y for y in [0, 6), the way math.Pow computes it (exp of the fraction
// times the exact power of the integer part) but without its general-case overhead and
// its call to Log(10).
func pow10(y float64) float64 {
	k := int(y)
	return math.Exp((y-float64(k))*math.Ln10) * exactPow10[k]
}

var exactPow10 = [...]float64{1, 10, 100, 1e3, 1e4, 1e5}

// appendString appends a string of minStringLength to maxLen-1 random lower-case letters
// and spaces, without leading or trailing spaces (the reference trims it after drawing
// every character).
func (g *generator) appendString(buf []byte, maxLen int32) []byte {
	r := &g.rnd
	n := int(minStringLength + r.nextIntn(maxLen-minStringLength))
	start := len(buf)
	for range n {
		if r.nextIntn(13) == 0 {
			buf = append(buf, ' ')
		} else {
			buf = append(buf, byte('a'+r.nextIntn(26)))
		}
	}
	lo, hi := start, len(buf)
	for lo < hi && buf[lo] == ' ' {
		lo++
	}
	for hi > lo && buf[hi-1] == ' ' {
		hi--
	}
	return buf[:start+copy(buf[start:], buf[lo:hi])]
}

// appendExact appends n random characters, six per 32-bit draw. A negative draw gives a
// negative remainder, so the characters range from 'H' to 'z', not only lower case: the
// reference does the same.
func (g *generator) appendExact(buf []byte, n int) []byte {
	start := len(buf)
	buf = slices.Grow(buf, n)[:start+n]
	dst := buf[start:]
	for len(dst) >= 6 {
		base26(dst[:6], g.rnd.nextInt())
		dst = dst[6:]
	}
	if len(dst) > 0 {
		var last [6]byte
		base26(last[:], g.rnd.nextInt())
		copy(dst, last[:])
	}
	return buf
}

// base26 writes the six low base-26 digits of |v| as characters 'a'+digit, or 'a'-digit
// when v is negative, as Java's truncating % and / do. Each digit is divided out of v
// independently rather than by repeated division by 26, so that the six divisions (all
// by constants: multiplications) do not wait on each other.
func base26(dst []byte, v int32) {
	// Without a branch: the draws' signs are random, so a branch would be mispredicted
	// half the time. m is 0 or -1; sign is 1 or 0xFF ('a' - digit in byte arithmetic).
	m := v >> 31
	u, sign := uint32((v^m)-m), byte(m)|1
	q1, q2, q3, q4, q5 := u/26, u/(26*26), u/(26*26*26), u/(26*26*26*26), u/(26*26*26*26*26)
	_ = dst[5]
	dst[0] = 'a' + sign*byte(u-q1*26)
	dst[1] = 'a' + sign*byte(q1-q2*26)
	dst[2] = 'a' + sign*byte(q2-q3*26)
	dst[3] = 'a' + sign*byte(q3-q4*26)
	dst[4] = 'a' + sign*byte(q4-q5*26)
	dst[5] = 'a' + sign*byte(q5%26)
}

// appendExtra appends padding that brings an event of size bytes to avg bytes on
// average, within 20% of the padding.
func (g *generator) appendExtra(buf []byte, size, avg int) []byte {
	if size > avg {
		return buf
	}
	avg -= size
	delta := int(math.Round(float64(avg) * 0.2))
	n := avg - delta
	if delta > 0 {
		n += int(g.rnd.nextIntn(int32(2 * delta)))
	}
	return g.appendExact(buf, n)
}
