package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
)

// LabelOptions configure a labeling run.
type LabelOptions struct {
	Labeler     string
	All         bool     // regrade pairs this labeler already graded
	RetryFailed bool     // also retry unparseable and refused pairs
	Limit       int      // at most this many pairs (0: all)
	Queries     []string // only these query ids (empty: all)
	Concurrency int      // overrides the labeler's setting (model labelers)
	Progress    ProgressFunc
}

// labelParams are stored with the run so a rerun knows whether it resumes
// the same job.
type labelParams struct {
	All         bool     `json:"all,omitempty"`
	RetryFailed bool     `json:"retry_failed,omitempty"`
	Limit       int      `json:"limit,omitempty"`
	Queries     []string `json:"queries,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
}

// flushEvery bounds how long a finished judgment waits before it is
// committed; flushSize bounds a write transaction.
const (
	flushEvery = 200 * time.Millisecond
	flushSize  = 500
)

// Label grades every pair the labeler has not graded yet (or all of them),
// recording each judgment and the run's progress as it goes. A canceled
// context stops it cleanly: finished judgments are committed, in-flight
// requests are dropped, and a rerun resumes the same run without paying
// again for finished pairs.
func Label(ctx context.Context, st *store.Store, opt LabelOptions) (store.Run, error) {
	lab, err := st.Labeler(ctx, opt.Labeler)
	if err != nil {
		return store.Run{}, err
	}
	var (
		group  groupGrader
		client *llm.Client
	)
	switch {
	case lab.Kind == store.KindHuman || lab.Kind == store.KindImported:
		return store.Run{}, fmt.Errorf("labeler %q is %s: its grades come from people or files, not from `label`", lab.Name, lab.Kind)
	case lab.Kind == store.KindBuiltin && lab.Name == "lexical":
		group = lexicalGrader{scale: st.Scale()}
	case lab.Kind == store.KindBuiltin && lab.Name == "bm25":
		group = bm25Grader{scale: st.Scale()}
	case lab.Kind == store.KindStudent && len(lab.Config.Student) > 0:
		if group, err = newStudentGrader(st.Scale(), lab); err != nil {
			return store.Run{}, err
		}
	case lab.BaseURL != "" || lab.Model != "":
		if opt.Concurrency > 0 {
			lab.Config.Concurrency = opt.Concurrency
		}
		if client, err = ClientFor(lab, st.Scale()); err != nil {
			return store.Run{}, fmt.Errorf("labeler %q: %w", lab.Name, err)
		}
	default:
		return store.Run{}, fmt.Errorf("labeler %q has no endpoint and no embedded model", lab.Name)
	}
	params := labelParams{All: opt.All, RetryFailed: opt.RetryFailed, Limit: opt.Limit, Queries: opt.Queries, Concurrency: opt.Concurrency}
	run, resuming, err := resumable(ctx, st, store.RunLabeling, lab.ID, params)
	if err != nil {
		return run, err
	}
	filter := store.PairFilter{QueryExtIDs: opt.Queries, UngradedBy: lab.ID, RetryFailed: opt.RetryFailed}
	if opt.All {
		filter.RegradeRun = run.ID
		if !resuming {
			// A new run has judged nothing yet: every pair is pending. (A
			// RegradeRun of 0 would be ignored and --all regrade nothing.)
			filter.UngradedBy = 0
		}
	}
	queryIDs, total, err := pendingQueries(ctx, st, filter, opt.Queries)
	if err != nil {
		return run, err
	}
	if opt.Limit > 0 && total > opt.Limit {
		total = opt.Limit
	}
	if total == 0 && !resuming {
		// Nothing to do: say so without recording an empty run.
		opt.Progress.send(Progress{Kind: store.RunLabeling, Labeler: lab.Name, Finished: true, Status: store.RunDone})
		return run, nil
	}
	notice, err := begin(ctx, st, &run, resuming)
	if err != nil {
		return run, err
	}
	if err := st.SetRunTotal(ctx, run.ID, run.Done+total); err != nil {
		return run, finish(st, run.ID, err)
	}
	if opt.All {
		// From here on the run has an id: skip what it has regraded.
		filter.UngradedBy, filter.RegradeRun = lab.ID, run.ID
	}

	w := newWriter(st, run, lab, total, opt.Progress)
	w.notice(notice)
	results := make(chan store.Judgment, 4096)
	// If the workspace cannot take the results (disk full, say), stop
	// asking the model: answers that cannot be stored are paid for nothing.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var workErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(results)
		workErr = produce(workCtx, st, filter, queryIDs, opt.Limit, group, client, lab, results)
	}()
	writeErr := w.consume(ctx, results, stopWork)
	wg.Wait()
	if client != nil && client.FellBack() {
		w.notice("the endpoint could not return logprobs: graded in json mode instead")
	}
	err = errors.Join(workErr, writeErr)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return w.finish(err)
}

// resumable returns the newest unfinished run of this kind and labeler when
// it was asked the same thing (resuming=true), or a new, not yet recorded
// run with these parameters.
func resumable(ctx context.Context, st *store.Store, kind string, labelerID int64, params any) (store.Run, bool, error) {
	pj, err := json.Marshal(params)
	if err != nil {
		return store.Run{}, false, err
	}
	prev, ok, err := st.UnfinishedRun(ctx, kind, labelerID)
	if err != nil {
		return prev, false, err
	}
	if ok && string(prev.Params) == string(pj) {
		return prev, true, nil
	}
	return store.Run{Kind: kind, LabelerID: labelerID, Params: pj}, false, nil
}

// begin records a new run, or marks a resumed one running again, and
// returns a notice for the user when resuming.
func begin(ctx context.Context, st *store.Store, run *store.Run, resuming bool) (string, error) {
	if !resuming {
		return "", st.StartRun(ctx, run)
	}
	if err := st.SetRunStatus(ctx, run.ID, store.RunRunning); err != nil {
		return "", err
	}
	return fmt.Sprintf("resuming run %d (%d done before)", run.ID, run.Done), nil
}

// pendingQueries lists the queries with pairs to grade and counts the pairs.
func pendingQueries(ctx context.Context, st *store.Store, f store.PairFilter, only []string) ([]int64, int, error) {
	qs, err := st.Queries(ctx)
	if err != nil {
		return nil, 0, err
	}
	want := map[string]bool{}
	for _, id := range only {
		want[id] = true
	}
	found := 0
	var ids []int64
	for _, q := range qs {
		if len(only) > 0 && !want[q.ExtID] {
			continue
		}
		found++
		ids = append(ids, q.ID)
	}
	if len(only) > 0 && found < len(want) {
		var missing []string
		have := map[string]bool{}
		for _, q := range qs {
			have[q.ExtID] = true
		}
		for _, id := range only {
			if !have[id] {
				missing = append(missing, id)
			}
		}
		return nil, 0, fmt.Errorf("unknown query id(s): %s", strings.Join(missing, ", "))
	}
	total, err := st.CountPairs(ctx, f)
	return ids, total, err
}

// produce loads pending pairs one query at a time and grades them: in
// process for built-in and embedded labelers, through a pool of concurrent
// requests for model endpoints (pairs go out in query order so a query's
// shared prompt prefix is reused by the server's cache).
func produce(ctx context.Context, st *store.Store, filter store.PairFilter, queryIDs []int64, limit int,
	group groupGrader, client *llm.Client, lab store.Labeler, results chan<- store.Judgment) error {
	var pairs chan store.PairView
	var wg sync.WaitGroup
	if client != nil {
		pairs = make(chan store.PairView, 256)
		workers := max(lab.Config.Concurrency, 1)
		if workers == 1 && lab.Config.Concurrency == 0 {
			workers = 8
		}
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range pairs {
					j := client.Grade(ctx, p.QueryText, LLMDoc(p.Doc))
					if ctx.Err() != nil && j.Status == llm.StatusError {
						continue // interrupted, not failed: left for the rerun
					}
					results <- judgmentFrom(p.ID, lab, j, 1)
				}
			}()
		}
	}
	err := func() error {
		sent := 0
		for _, qid := range queryIDs {
			if ctx.Err() != nil {
				return nil
			}
			f := filter
			f.QueryID = qid
			if limit > 0 {
				f.Limit = limit - sent
				if f.Limit <= 0 {
					return nil
				}
			}
			views, err := st.PairViews(ctx, f)
			if err != nil {
				return err
			}
			if len(views) == 0 {
				continue
			}
			sent += len(views)
			if group != nil {
				js, err := group.GradeGroup(ctx, st, views)
				if err != nil {
					return err
				}
				for _, j := range js {
					j.LabelerID, j.PromptVersion = lab.ID, group.PromptVersion()
					select {
					case results <- j:
					case <-ctx.Done():
						return nil
					}
				}
				continue
			}
			for _, v := range views {
				select {
				case pairs <- v:
				case <-ctx.Done():
					return nil
				}
			}
		}
		return nil
	}()
	if pairs != nil {
		close(pairs)
		wg.Wait()
	}
	return err
}

// writer commits judgments in batches with the run's progress, in one
// transaction each, so a crash loses at most the last fraction of a second
// and never leaves counts out of step with judgments.
type writer struct {
	st      *store.Store
	run     store.Run
	lab     store.Labeler
	started time.Time
	p       Progress
	report  ProgressFunc
}

func newWriter(st *store.Store, run store.Run, lab store.Labeler, total int, report ProgressFunc) *writer {
	return &writer{st: st, run: run, lab: lab, started: time.Now(), report: report,
		p: Progress{RunID: run.ID, Kind: run.Kind, Labeler: lab.Name, Total: total}}
}

func (w *writer) notice(msg string) {
	if msg == "" {
		return
	}
	p := w.p
	p.Notice, p.Elapsed = msg, time.Since(w.started)
	w.report.send(p)
}

func (w *writer) consume(ctx context.Context, in <-chan store.Judgment, onError func()) error {
	batch := make([]store.Judgment, 0, flushSize)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var err error
	flush := func() {
		if len(batch) == 0 || err != nil {
			batch = batch[:0]
			return
		}
		if err = w.commit(batch); err != nil {
			onError()
		}
		batch = batch[:0]
	}
	for {
		select {
		case j, ok := <-in:
			if !ok {
				flush()
				return err
			}
			j.RunID = w.run.ID
			batch = append(batch, j)
			if len(batch) >= flushSize {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// tally is what a batch of judgments adds to its run, and the reason of its
// last failure.
func tally(js []store.Judgment) (d store.RunDelta, lastErr string) {
	for _, j := range js {
		d.Done++
		if j.Status != store.StatusOK {
			d.Failed++
			if j.Reason != "" {
				lastErr = j.Reason
			}
		}
		d.TokensIn += int64(j.TokensIn)
		d.TokensOut += int64(j.TokensOut)
		d.CostUSD += j.CostUSD
	}
	return d, lastErr
}

func (w *writer) commit(batch []store.Judgment) error {
	d, lastErr := tally(batch)
	now := time.Now()
	d.BusySeconds = now.Sub(w.started).Seconds() - w.p.Elapsed.Seconds()
	// Commit even when the run's context was canceled: these results are
	// paid for.
	err := w.st.Background().Tx(context.Background(), func(tx *store.Store) error {
		if err := tx.PutJudgments(context.Background(), batch); err != nil {
			return err
		}
		return tx.AddRunProgress(context.Background(), w.run.ID, d)
	})
	if err != nil {
		return err
	}
	w.p.Done += d.Done
	w.p.Failed += d.Failed
	w.p.TokensIn += d.TokensIn
	w.p.TokensOut += d.TokensOut
	w.p.CostUSD += d.CostUSD
	w.p.Elapsed = now.Sub(w.started)
	w.p.LastError = lastErr
	p := w.p
	p.Notice = ""
	w.report.send(p)
	return nil
}

func (w *writer) finish(err error) (store.Run, error) {
	w.p.Elapsed = time.Since(w.started)
	return endRun(w.st, w.run, w.p, w.report, err)
}

// endRun records how a run ended — done, canceled (by Ctrl-C or a
// deadline) or failed with err — sends the final progress and returns the
// run as stored.
func endRun(st *store.Store, run store.Run, p Progress, report ProgressFunc, err error) (store.Run, error) {
	status := store.RunDone
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		status = store.RunCanceled
	case err != nil:
		status = store.RunFailed
	}
	ferr := st.FinishRun(context.Background(), run.ID, status, err)
	p.Finished, p.Status = true, status
	report.send(p)
	if stored, rerr := st.Run(context.Background(), run.ID); rerr == nil {
		run = stored
	}
	return run, errors.Join(err, ferr)
}

// finish records a run that failed before it started working.
func finish(st *store.Store, runID int64, err error) error {
	return errors.Join(err, st.FinishRun(context.Background(), runID, store.RunFailed, err))
}
