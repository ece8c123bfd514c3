package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/weirflow/weir/run"
)

// ScrapeEvery is how often the monitored paths scrape their run's /metrics, as a
// Prometheus server would.
const ScrapeEvery = time.Second

// Monitored runs path with its metrics served (run.HTTP on a free loopback port) and
// scraped at once and then every ScrapeEvery until the run returns, and returns path's
// result and the number of scrapes that read weir's metrics: none when the run ends
// before the first scrape reaches the server, as a run of a few items does.
func Monitored(ctx context.Context, n int, path func(ctx context.Context, n int, opts ...run.Option) (int, error)) (res, scrapes int, err error) {
	return MonitoredEvery(ctx, n, ScrapeEvery, path)
}

// MonitoredEvery is Monitored with scrapes every interval.
func MonitoredEvery(ctx context.Context, n int, every time.Duration, path func(ctx context.Context, n int, opts ...run.Option) (int, error)) (res, scrapes int, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	addr := ln.Addr().String()
	ln.Close() // the run listens on it
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { scrapes = scrapeUntil("http://"+addr+"/metrics", every, stop) })
	res, err = path(ctx, n, run.HTTP(addr))
	close(stop)
	wg.Wait()
	return res, scrapes, err
}

// scrapeUntil scrapes url at once (trying again every millisecond until the server
// answers) and then every interval, until stop is closed, and returns how many scrapes
// read weir's metrics.
func scrapeUntil(url string, every time.Duration, stop <-chan struct{}) int {
	client := &http.Client{Timeout: 5 * time.Second}
	n := 0
	wait := time.Millisecond
	for {
		if ok, _ := scrape(client, url); ok {
			n++
			wait = every
		}
		select {
		case <-stop:
			return n
		case <-time.After(wait):
		}
	}
}

func scrape(client *http.Client, url string) (bool, error) {
	resp, err := client.Get(url)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return strings.Contains(string(b), "weir_items_in_total"), nil
}

func monitoredJob(path func(ctx context.Context, n int, opts ...run.Option) (int, error)) func(int) (int, error) {
	return func(n int) (int, error) {
		res, _, err := Monitored(context.Background(), n, path)
		return res, err
	}
}
