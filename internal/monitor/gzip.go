package monitor

import (
	"compress/gzip"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Compressing /metrics. A Prometheus server asks for gzip. promhttp compresses with a
// writer from a sync.Pool, which garbage collections empty: a process scraped every few
// seconds collects in between, so nearly every scrape made a new writer, about 800 KB of
// flate's tables, which the runtime had often given back to the system by then. On the
// development VM (loaded), a compressed scrape with the memory given back before each
// took 3.8-5.0 ms that way and 1.5-2.2 ms with a writer kept, and allocated 1012 KB
// against 218 KB. The monitor compresses itself instead, with writers kept for the
// process's life: as many as scrapes have run at once, up to keptWriters.
//
// The writers compress at gzip.BestSpeed, not at the default level: a scrape of a
// 2-worker count (30 KB of text) took 0.6-1.2 ms to compress at the default level and
// 0.18-0.30 ms at BestSpeed (loaded VM), for 4.8 KB against 4.1 KB. A scrape is work
// taken from the workers of a process that keeps its cores busy; a few hundred bytes
// more on a loopback or a LAN cost nobody anything.

// keptWriters bounds the gzip writers kept between scrapes (each holds about 1.2 MB).
const keptWriters = 2

// gzipLevel is the level the writers compress at.
const gzipLevel = gzip.BestSpeed

var gzipWriters = make(chan *gzip.Writer, keptWriters)

func getGzip(w io.Writer) *gzip.Writer {
	select {
	case gz := <-gzipWriters:
		gz.Reset(w)
		return gz
	default:
		gz, _ := gzip.NewWriterLevel(w, gzipLevel) // a valid level: no error
		return gz
	}
}

func putGzip(gz *gzip.Writer) {
	gz.Reset(io.Discard) // let the response go
	select {
	case gzipWriters <- gz:
	default:
	}
}

// gzipped serves h's response gzip-compressed when the request's Accept-Encoding prefers
// gzip to identity, as promhttp negotiates it (wantsGzip).
func gzipped(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !wantsGzip(r.Header.Values("Accept-Encoding")) {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		gw := &gzipResponse{ResponseWriter: w}
		h.ServeHTTP(gw, r)
		gw.start()
		if gw.gz != nil {
			gw.gz.Close() // an error is the client's going away: nothing to tell it
			putGzip(gw.gz)
		}
	})
}

// gzipResponse compresses what a handler writes, unless the handler has taken the
// encoding back by the time it starts its response (promhttp does, to send an error as
// plain text).
type gzipResponse struct {
	http.ResponseWriter
	gz      *gzip.Writer // nil until started, and when not compressing
	started bool
}

func (g *gzipResponse) start() {
	if g.started {
		return
	}
	g.started = true
	if g.Header().Get("Content-Encoding") == "gzip" {
		g.Header().Del("Content-Length") // of what the handler meant to write
		g.gz = getGzip(g.ResponseWriter)
	}
}

func (g *gzipResponse) WriteHeader(code int) {
	g.start()
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipResponse) Write(b []byte) (int, error) {
	g.start()
	if g.gz == nil {
		return g.ResponseWriter.Write(b)
	}
	return g.gz.Write(b)
}

// wantsGzip reports whether Accept-Encoding values choose gzip over identity the way
// promhttp's negotiation does: gzip when the highest quality given to gzip (or "*") is
// above 0 and above the highest given to identity (or "*"), so that "gzip" alone chooses
// it and "gzip, identity" or "*" do not. Like promhttp's, it compares names as written.
func wantsGzip(values []string) bool {
	qGzip, qIdentity := -1.0, -1.0
	for _, v := range values {
		for spec := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(spec, ";")
			name = strings.TrimSpace(name)
			q, ok := quality(params)
			if !ok {
				continue
			}
			if name == "*" || name == "gzip" {
				qGzip = max(qGzip, q)
			}
			if name == "*" || name == "identity" {
				qIdentity = max(qIdentity, q)
			}
		}
	}
	return qGzip > 0 && qGzip > qIdentity
}

// quality is the q parameter among an Accept-Encoding entry's parameters: 1 when there
// is none, and not ok when it is not a number.
func quality(params string) (q float64, ok bool) {
	for p := range strings.SplitSeq(params, ";") {
		name, v, _ := strings.Cut(p, "=")
		if strings.TrimSpace(name) == "q" {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 1, true
}
