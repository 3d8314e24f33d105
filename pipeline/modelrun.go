package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
)

// modelRun grades pairs through a model endpoint: it claims pairs a batch
// at a time, sends them through a pool of workers (one request in flight
// each), and keeps its claims and its run alive while it works.
//
// A worker sends its next request only once the answer of the previous one
// is committed, so at any moment each worker holds at most one answer that
// is paid for and not yet durable: a crash repays at most Concurrency pairs.
type modelRun struct {
	st           *store.Store // background writer
	lab          store.Labeler
	client       *llm.Client
	owner        string
	ttl          time.Duration
	runID        int64
	filter       store.PairFilter // pending pairs; FinishedIn: this run and the runs beside it
	queryIDs     []int64
	limit        int
	parseRetries int
	w            *writer

	inFlight atomic.Int64

	mu        sync.Mutex
	peers     map[int64]bool
	peersSeen time.Time
}

// peerEvery bounds how often the runs working beside this one are looked up.
const peerEvery = 500 * time.Millisecond

func (m *modelRun) workers() int {
	n := max(m.lab.Config.Concurrency, 1)
	if n == 1 && m.lab.Config.Concurrency == 0 {
		n = 8 // the client's default
	}
	return n
}

// grade runs until every pending pair is graded, ctx is canceled (then it
// stops sending and waits up to drain for the answers in flight), or the
// workspace fails.
func (m *modelRun) grade(ctx context.Context, drain time.Duration) error {
	// stop: no new requests. reqs: the requests already sent; they outlive
	// ctx by the drain time.
	stop, stopAll := context.WithCancel(ctx)
	defer stopAll()
	reqs, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	unhook := context.AfterFunc(ctx, func() {
		if n := m.inFlight.Load(); n > 0 && drain > 0 {
			m.w.notice(fmt.Sprintf("stopping: no new requests; waiting up to %s for the %d answers already asked for", drain, n))
		}
		time.AfterFunc(drain, cancelReqs)
	})
	defer unhook()

	results := make(chan answer, m.workers())
	var writeErr error
	written := make(chan struct{})
	go func() {
		defer close(written)
		// Answers that cannot be stored are paid for nothing: stop asking.
		writeErr = m.w.consume(results, func() { stopAll(); cancelReqs() })
	}()
	beat := make(chan struct{})
	var beating sync.WaitGroup
	beating.Add(1)
	go func() {
		defer beating.Done()
		m.heartbeat(beat)
	}()

	pairs := make(chan store.PairView, claimBatch)
	var wg sync.WaitGroup
	for range m.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.work(stop, reqs, pairs, results)
		}()
	}
	claimErr := m.claim(stop, pairs)
	close(pairs)
	wg.Wait()
	close(results)
	<-written
	close(beat)
	beating.Wait()
	// What was claimed and not answered (stopped, or its request canceled)
	// is free for the next run at once.
	relErr := m.st.ReleaseClaims(context.Background(), m.owner)
	return errors.Join(claimErr, writeErr, relErr)
}

// heartbeat renews the run's claims and liveness until beat is closed.
func (m *modelRun) heartbeat(beat <-chan struct{}) {
	t := time.NewTicker(max(m.ttl/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-beat:
			return
		case <-t.C:
			// A failed renewal is tried again at the next tick; claims
			// outlive a few missed ones.
			_ = m.st.RenewClaims(context.Background(), m.owner, m.runID, m.ttl)
		}
	}
}

// work grades the pairs it is given, one request at a time.
func (m *modelRun) work(stop, reqs context.Context, pairs <-chan store.PairView, results chan<- answer) {
	gctx := llm.Draining(reqs, stop)
	for p := range pairs {
		if stop.Err() != nil {
			continue // stopping: left for the rerun (its claim is released)
		}
		for attempt := 0; ; attempt++ {
			m.inFlight.Add(1)
			j := m.client.Grade(gctx, p.QueryText, LLMDoc(p.Doc))
			m.inFlight.Add(-1)
			if j.Canceled {
				break // no answer came: nothing paid, left for the rerun
			}
			sj := judgmentFrom(p.ID, m.lab, j, 1)
			sj.Retrying = sj.Status == store.StatusUnparseable && attempt < m.parseRetries && stop.Err() == nil
			if err := m.w.put(results, sj); err != nil {
				return
			}
			if !sj.Retrying {
				break
			}
		}
	}
}

// pending is the filter of the pairs still to do, with the runs working
// beside this one (looked up again every peerEvery) among FinishedIn.
func (m *modelRun) pending(ctx context.Context) (store.PairFilter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.peersSeen) >= peerEvery {
		ids, err := m.st.LiveRuns(ctx, store.RunLabeling, m.lab.ID, m.runID)
		if err != nil {
			return m.filter, err
		}
		for _, id := range ids {
			if !m.peers[id] {
				m.peers[id] = true
				m.filter.FinishedIn = append(m.filter.FinishedIn, id)
				m.w.notice(sharingNotice(id, m.lab.Name))
			}
		}
		m.peersSeen = time.Now()
	}
	f := m.filter
	f.FinishedIn = append([]int64(nil), m.filter.FinishedIn...)
	return f, nil
}

// claim feeds pairs to the workers: a first pass query by query (requests
// of one query go out together, so the server's prompt cache is reused),
// then as long as pairs are left — released by a run that stopped, or held
// by another run, which is waited for and taken over if its process is
// gone or stops renewing its claims.
func (m *modelRun) claim(stop context.Context, pairs chan<- store.PairView) error {
	claimed := 0
	// take claims one batch of f and hands it out: more is false when f has
	// no more or the run is over; last is the last pair claimed.
	take := func(f store.PairFilter) (last int64, more bool, err error) {
		n := claimBatch
		if m.limit > 0 {
			if n = min(n, m.limit-claimed); n <= 0 {
				return 0, false, nil
			}
		}
		views, err := m.st.ClaimPairs(stop, f, m.owner, n, m.ttl)
		if err != nil || len(views) == 0 {
			return 0, false, err
		}
		claimed += len(views)
		for _, v := range views {
			select {
			case pairs <- v:
			case <-stop.Done():
				return 0, false, nil
			}
		}
		return views[len(views)-1].ID, len(views) == n, nil
	}
	for _, qid := range m.queryIDs {
		// Within a query the pass goes on after the last pair it claimed
		// (those before it are claimed or finished; a later pass picks up
		// any that were released).
		var after int64
		for more := true; more; {
			f, err := m.pending(stop)
			if err != nil {
				return m.stopped(stop, err)
			}
			f.QueryID, f.AfterPairID = qid, after
			if after, more, err = take(f); err != nil {
				return m.stopped(stop, err)
			}
		}
	}
	waiting := false
	for stop.Err() == nil && (m.limit == 0 || claimed < m.limit) {
		f, err := m.pending(stop)
		if err != nil {
			return m.stopped(stop, err)
		}
		_, more, err := take(f)
		if err != nil {
			return m.stopped(stop, err)
		}
		if more {
			waiting = false
			continue
		}
		f.ClaimedByOther = m.owner
		held, err := m.st.CountPairs(stop, f)
		if err != nil {
			return m.stopped(stop, err)
		}
		if held == 0 {
			// Nothing claimed by others; what is free was just taken (or
			// nothing is left).
			f.ClaimedByOther, f.Unclaimed = "", true
			if free, err := m.st.CountPairs(stop, f); err != nil || free == 0 {
				return m.stopped(stop, err)
			}
			continue
		}
		freed, err := m.st.FreeDeadClaims(stop, m.lab.ID, m.owner)
		if err != nil {
			return m.stopped(stop, err)
		}
		if freed > 0 {
			continue
		}
		if !waiting {
			waiting = true
			m.w.notice(fmt.Sprintf("waiting for %d pairs another run has claimed (taken over if it stops renewing its claims within %s)", held, m.ttl))
		}
		select {
		case <-time.After(min(max(m.ttl/10, 20*time.Millisecond), time.Second)):
		case <-stop.Done():
			return nil
		}
	}
	return nil
}

// stopped is err unless the run is stopping (then cancellations are not
// errors).
func (m *modelRun) stopped(stop context.Context, err error) error {
	if stop.Err() != nil {
		return nil
	}
	return err
}
