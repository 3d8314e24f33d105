package llm

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchServer answers every chat request with a canned json-mode response
// after delay (0 = at once). It drains the request body without decoding it.
func benchServer(b *testing.B, delay time.Duration, conns *atomic.Int64) *httptest.Server {
	resp := chatJSON(`{"grade":2}`, respOpts{})
	clen := strconv.Itoa(len(resp))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if delay > 0 {
			time.Sleep(delay)
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", clen)
		_, _ = w.Write(resp)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv
}

// runGradeBench grades b.N pairs with `workers` goroutines and reports
// pairs/s and the number of TCP connections the server saw (the warm-up
// included).
func runGradeBench(b *testing.B, delay time.Duration, concurrency, workers int) {
	var conns atomic.Int64
	srv := benchServer(b, delay, &conns)
	c, err := New(Config{BaseURL: srv.URL + "/v1", Model: "bench", APIKeyEnv: "QRELBENCH_BENCH_UNSET", Concurrency: concurrency}, testScale)
	if err != nil {
		b.Fatal(err)
	}
	doc := testDoc
	doc.Body = longBody
	// One untimed grade per worker first: the connections are open and
	// the client warm when the timing starts (the figure is the steady
	// rate, not the dialing).
	var warm sync.WaitGroup
	for w := 0; w < workers; w++ {
		warm.Add(1)
		go func() {
			defer warm.Done()
			c.Grade(context.Background(), "falcon roadmap", doc)
		}()
	}
	warm.Wait()
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if j := c.Grade(context.Background(), "falcon roadmap", doc); j.Status != StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d failed grades", failed.Load())
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "pairs/s")
	b.ReportMetric(float64(conns.Load()), "conns")
}

var longBody = func() string {
	s := ""
	for len(s) < 2500 {
		s += "Falcon ships the new indexer in Q3; owner Dana Kim; see the migration plan. "
	}
	return s
}()

// BenchmarkGradeInstant: loopback server answering at once, Concurrency 32.
func BenchmarkGradeInstant(b *testing.B) {
	runGradeBench(b, 0, 32, 32)
}

// BenchmarkGradeLatency50ms: server with 50 ms latency, Concurrency 64;
// the ideal is 64/0.05 = 1280 pairs/s.
func BenchmarkGradeLatency50ms(b *testing.B) {
	runGradeBench(b, 50*time.Millisecond, 64, 64)
}
