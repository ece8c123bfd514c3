package nexmark

import "time"

// Person is a new user of the auction site. Times are milliseconds since the Unix epoch,
// as in the reference model.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     int64
	Extra        string
}

// Auction is an item put up for sale by Seller, open from DateTime to Expires.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    int64
	Expires     int64
	Seller      int64
	Category    int64
	Extra       string
}

// Bid is a bid of Price (in cents) by Bidder on Auction.
type Bid struct {
	Auction  int64
	Bidder   int64
	Price    int64
	DateTime int64
	Extra    string
}

// Event is one event of the stream: exactly one of its fields is set.
type Event struct {
	Person  *Person
	Auction *Auction
	Bid     *Bid
}

// Time returns the event's time in milliseconds since the Unix epoch.
func (e Event) Time() int64 {
	switch {
	case e.Bid != nil:
		return e.Bid.DateTime
	case e.Auction != nil:
		return e.Auction.DateTime
	case e.Person != nil:
		return e.Person.DateTime
	}
	return 0
}

// Millis converts a time in milliseconds since the Unix epoch to a time.Time.
func Millis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
