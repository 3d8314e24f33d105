package llm

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestDrainingLetsTheAnswerInFlightArrive: once the drain signal is given,
// a request already sent still delivers its answer, and no new attempt (a
// retry) starts.
func TestDrainingLetsTheAnswerInFlightArrive(t *testing.T) {
	sent := make(chan struct{}, 4)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
		sent <- struct{}{}
		time.Sleep(150 * time.Millisecond)
		if n == 0 {
			writeJSON(w, 200, chatJSON(`{"grade":2}`, respOpts{}))
			return
		}
		writeJSON(w, 500, apiError("busy"))
	})
	c, err := New(f.cfg(), testScale)
	if err != nil {
		t.Fatal(err)
	}
	stop, stopNow := context.WithCancel(context.Background())
	ctx := Draining(context.Background(), stop)
	go func() { <-sent; stopNow() }() // drain while the first request is in flight
	j := c.Grade(ctx, "q", Doc{ID: "d", Body: "b"})
	if j.Canceled || j.Status != StatusOK || j.Grade != 2 {
		t.Fatalf("the answer in flight was dropped: %+v", j)
	}
	// Under a drain, a failing request is not retried.
	j = c.Grade(Draining(context.Background(), ctxDone()), "q", Doc{ID: "d", Body: "b"})
	if !j.Canceled || len(f.requests()) != 1 {
		t.Fatalf("a drained call started a request: %+v, %d requests", j, len(f.requests()))
	}
	stop2, stopNow2 := context.WithCancel(context.Background())
	go func() { <-sent; stopNow2() }()
	j = c.Grade(Draining(context.Background(), stop2), "q", Doc{ID: "d", Body: "b"})
	if !j.Canceled || len(f.requests()) != 2 {
		t.Fatalf("a 500 during a drain was retried: %+v, %d requests", j, len(f.requests()))
	}
}

func ctxDone() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
