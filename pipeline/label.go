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
	Labeler string
	All     bool // regrade every pair, graded or not
	// RetryFailed is what every run does now: a failure is not a grade, so
	// pairs whose last attempt failed (error, unparseable, refused) are
	// asked again by a plain rerun. Kept so that callers compile.
	//
	// Deprecated: failed pairs are always retried; this changes nothing.
	RetryFailed bool
	Limit       int      // at most this many pairs (0: all)
	Queries     []string // only these query ids (empty: all)
	Concurrency int      // overrides the labeler's setting (model labelers)
	// ParseRetries is how many times an unparseable answer is asked again
	// at once, each failure kept in the history, before the pair is
	// recorded as failed (0: DefaultParseRetries; negative: none).
	ParseRetries int
	// DrainTimeout is how long a canceled run waits for the answers it has
	// already asked for, to store them (0: DefaultDrainTimeout; negative:
	// it does not wait).
	DrainTimeout time.Duration
	// ClaimTTL is how long a claim on a pair (see store.ClaimPairs) lasts
	// unless the run renews it: how soon the pairs of a run whose process
	// died are taken over (0: store.DefaultClaimTTL).
	ClaimTTL time.Duration
	Progress ProgressFunc
	// Select chooses which Limit pairs the run grades (select.go):
	// selection.StudentUncertain, Diverse or Random, guided by the embedded
	// student SelectStudent (default: the one taught by this labeler),
	// seeded by SelectSeed. "" grades pairs in workspace order.
	Select        string
	SelectStudent string
	SelectSeed    int64
}

// Defaults of LabelOptions.
const (
	DefaultParseRetries = 2
	DefaultDrainTimeout = 10 * time.Second
)

func (o LabelOptions) parseRetries() int {
	switch {
	case o.ParseRetries < 0:
		return 0
	case o.ParseRetries == 0:
		return DefaultParseRetries
	}
	return o.ParseRetries
}

func (o LabelOptions) drainTimeout() time.Duration {
	switch {
	case o.DrainTimeout < 0:
		return 0
	case o.DrainTimeout == 0:
		return DefaultDrainTimeout
	}
	return o.DrainTimeout
}

func (o LabelOptions) claimTTL() time.Duration {
	if o.ClaimTTL <= 0 {
		return store.DefaultClaimTTL
	}
	return o.ClaimTTL
}

// labelParams are stored with the run so a rerun knows whether it resumes
// the same job.
type labelParams struct {
	All         bool     `json:"all,omitempty"`
	Limit       int      `json:"limit,omitempty"`
	Queries     []string `json:"queries,omitempty"`
	Concurrency int      `json:"concurrency,omitempty"`
	// the selection (select.go) and the pairs it chose
	Select        string  `json:"select,omitempty"`
	SelectStudent string  `json:"select_student,omitempty"`
	SelectSeed    int64   `json:"select_seed,omitempty"`
	Pairs         []int64 `json:"pairs,omitempty"`
}

// resumeCommand is the command line that continues a run with these
// parameters.
func (p labelParams) resumeCommand(labeler string) string {
	c := "qrelbench label --labeler " + labeler
	if p.All {
		c += " --all"
	}
	if p.Limit > 0 {
		c += fmt.Sprintf(" --limit %d", p.Limit)
	}
	if len(p.Queries) > 0 {
		c += " --query " + strings.Join(p.Queries, ",")
	}
	if p.Concurrency > 0 {
		c += fmt.Sprintf(" --concurrency %d", p.Concurrency)
	}
	if p.Select != "" {
		c += selectFlags(p)
	}
	return c
}

// claimBatch is how many pairs a model run claims per transaction; flushSize
// bounds a write transaction.
const (
	claimBatch = 64
	flushSize  = 500
)

// Label grades every pair the labeler has not graded yet (or all of them),
// recording each judgment and the run's progress as it goes.
//
// What it promises, for model labelers (the ones that cost money):
//   - Each pair is claimed in the workspace before its request is sent, so
//     runs of one labeler working at once (two terminals, the workbench
//     beside the CLI, two machines on a shared disk) divide the pairs; a
//     pair finished by one is finished for the others.
//   - An answer is committed before the request that got it is replaced by
//     another, so a crash or kill -9 loses at most the answers of the
//     requests in flight (Concurrency); the claims of a dead process are
//     taken over (at once on the same machine, else after ClaimTTL).
//   - A canceled context stops sending, waits up to DrainTimeout for the
//     answers already asked for and stores them; the run is recorded as
//     interrupted with the command that resumes it.
//   - An unparseable answer is asked again (ParseRetries), each failure kept
//     in the history; a failure is never a grade, and a rerun retries it.
//   - The run's counts are what this run did: Done (verdicts, ok or failed),
//     Failed, Retried, and a Total that ends equal to Done when it finishes.
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
	params := labelParams{All: opt.All, Limit: opt.Limit, Queries: opt.Queries, Concurrency: opt.Concurrency}
	if opt.Select != "" {
		params.Select, params.SelectStudent, params.SelectSeed = opt.Select, opt.SelectStudent, opt.SelectSeed
		if params.Pairs, err = selectForRun(ctx, st, lab, opt); err != nil {
			return store.Run{}, err
		}
	}
	// Model runs claim what they send under an owner token; in-process
	// graders cost nothing and claim nothing.
	owner, ttl := "", opt.claimTTL()
	if client != nil {
		owner = store.NewOwner()
		defer store.EndOwner(owner)
		// A process that died on this machine (kill -9, a crash) left
		// claims: take its pairs back now rather than when they expire.
		if _, err := st.Background().FreeDeadClaims(ctx, lab.ID, owner); err != nil {
			return store.Run{}, err
		}
	}
	run, resuming, err := resumableFor(ctx, st, store.RunLabeling, lab.ID, params, owner, ttl)
	if err != nil {
		return run, err
	}
	var peers []int64
	if owner != "" {
		if peers, err = st.LiveRuns(ctx, store.RunLabeling, lab.ID, run.ID); err != nil {
			return run, err
		}
	}
	filter := store.PairFilter{QueryExtIDs: opt.Queries, UngradedBy: lab.ID, Regrade: opt.All, FinishedIn: peers, PairIDs: params.Pairs}
	if resuming {
		filter.FinishedIn = append([]int64{run.ID}, peers...)
	}
	queryIDs, total, err := pendingQueries(ctx, st, filter, opt.Queries, opt.Limit)
	if err != nil {
		return run, err
	}
	if total == 0 && !resuming {
		// Nothing to do: say so without recording an empty run.
		opt.Progress.send(Progress{Kind: store.RunLabeling, Labeler: lab.Name, Finished: true, Status: store.RunDone})
		return run, nil
	}
	if !resuming {
		run.Owner, run.AliveUntil = owner, time.Now().Add(ttl)
	}
	notice, err := begin(ctx, st, &run, resuming)
	if err != nil {
		return run, err
	}
	filter.FinishedIn = append([]int64{run.ID}, peers...)
	if err := st.SetRunTotal(ctx, run.ID, run.Done+total); err != nil {
		return run, finish(st, run.ID, err)
	}

	w := newWriter(st, run, lab, total, opt.Progress)
	w.notice(notice)
	if client == nil {
		err = gradeInProcess(ctx, st, filter, queryIDs, opt.Limit, group, lab, w)
	} else {
		m := &modelRun{st: st.Background(), lab: lab, client: client, owner: owner, ttl: ttl, runID: run.ID,
			filter: filter, queryIDs: queryIDs, limit: opt.Limit, parseRetries: opt.parseRetries(), w: w,
			peers: map[int64]bool{}}
		for _, id := range peers {
			m.peers[id] = true
			w.notice(sharingNotice(id, lab.Name))
		}
		err = m.grade(ctx, opt.drainTimeout())
		if client.FellBack() {
			w.notice("the endpoint could not return logprobs: graded in json mode instead")
		}
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return w.finish(err, filter, opt.Limit, params)
}

func sharingNotice(runID int64, labeler string) string {
	return fmt.Sprintf("run %d of %s is grading at the same time: the two share the pairs", runID, labeler)
}

// interruptedError is a run stopped by its context (Ctrl-C) that a rerun of
// the same command resumes. It wraps the context's error.
type interruptedError struct {
	msg   string
	cause error
}

func (e *interruptedError) Error() string { return e.msg }
func (e *interruptedError) Unwrap() error { return e.cause }

// resumable returns the newest unfinished run of this kind and labeler when
// it was asked the same thing (resuming=true), or a new, not yet recorded
// run with these parameters.
func resumable(ctx context.Context, st *store.Store, kind string, labelerID int64, params any) (store.Run, bool, error) {
	return resumableFor(ctx, st, kind, labelerID, params, "", 0)
}

// resumableFor is resumable for runs that claim their work under an owner:
// a run another live process is working on is not resumed (a new run is
// started beside it), and a resumed run is taken for owner.
func resumableFor(ctx context.Context, st *store.Store, kind string, labelerID int64, params any, owner string, ttl time.Duration) (store.Run, bool, error) {
	pj, err := json.Marshal(params)
	if err != nil {
		return store.Run{}, false, err
	}
	prev, ok, err := st.ResumableRun(ctx, kind, labelerID, pj, owner, ttl)
	if err != nil || ok {
		return prev, ok, err
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

// openRun begins (or resumes) a run over items units of work, records its
// total and sends its first progress, with the resuming notice: the
// preamble of the runs that commit a batch of queries at a time.
func openRun(ctx context.Context, st *store.Store, run *store.Run, resuming bool, items int, report ProgressFunc) (Progress, error) {
	notice, err := begin(ctx, st, run, resuming)
	if err != nil {
		return Progress{}, err
	}
	if err := st.SetRunTotal(ctx, run.ID, run.Done+items); err != nil {
		return Progress{}, finish(st, run.ID, err)
	}
	p := Progress{RunID: run.ID, Kind: run.Kind, Total: items, Notice: notice}
	report.send(p)
	p.Notice = ""
	return p, nil
}

// pendingQueries lists the queries (only those, when given) and counts the
// pairs f selects, up to limit (0: all): a --limit run on a large
// workspace does not count every pair it will not grade.
func pendingQueries(ctx context.Context, st *store.Store, f store.PairFilter, only []string, limit int) ([]int64, int, error) {
	ids, err := queryIDs(ctx, st, only)
	if err != nil {
		return nil, 0, err
	}
	total, err := st.CountPairsUpTo(ctx, f, limit)
	return ids, total, err
}

// queryIDs are the internal ids of the queries with these external ids, of
// every query when there are none, in id order.
func queryIDs(ctx context.Context, st *store.Store, only []string) ([]int64, error) {
	ids, missing, err := st.QueryIDsOf(ctx, only)
	if err == nil && len(missing) > 0 {
		err = fmt.Errorf("unknown query id(s): %s", strings.Join(missing, ", "))
	}
	return ids, err
}

// In-process grading reads a chunk of queries' candidate groups in one
// statement, grades them and hands their judgments to the writer, which
// commits them with the run's counts in one transaction per chunk (or per
// few chunks, whatever has arrived): a chunk is about inProcessChunk
// pending pairs.
//
// Why committing thousands of answers at once is safe here, when a model
// run commits each answer as soon as it can: an in-process grade costs
// nothing and is the same every time (deterministic), so what a crash or
// kill -9 loses — the chunks graded but not yet committed, at most two
// (one being committed, one waiting) — is redone by the next run for
// free. Judgments, their history and the run's counts are committed in the
// same transaction, so counts are never out of step with what is stored,
// and Ctrl-C stops the reading while the writer still commits every chunk
// already graded: nothing finished is lost.
const (
	inProcessChunk  = 2048
	inProcessCommit = 8192 // at most this many judgments per transaction
)

// gradeInProcess grades pending pairs, a chunk of queries at a time, with a
// built-in or embedded grader (nothing to pay: no claims, no waiting for
// commits).
func gradeInProcess(ctx context.Context, st *store.Store, filter store.PairFilter, queryIDs []int64, limit int,
	group groupGrader, lab store.Labeler, w *writer) error {
	results := make(chan []store.Judgment, 1)
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var writeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeErr = w.consumeChunks(results, stopWork)
	}()
	err := func() error {
		defer close(results)
		sent := 0
		// pairs per query as seen so far, which sizes the next chunk: the
		// first is of 16 queries
		perQuery := float64(inProcessChunk) / 16
		for len(queryIDs) > 0 {
			if workCtx.Err() != nil || limit > 0 && sent >= limit {
				return nil
			}
			n := min(len(queryIDs), max(1, int(inProcessChunk/perQuery)))
			chunk := queryIDs[:n]
			queryIDs = queryIDs[n:]
			gs, err := st.CandidateGroups(workCtx, chunk, filter)
			if err != nil {
				if workCtx.Err() != nil {
					return nil
				}
				return err
			}
			pairs := 0
			var js []store.Judgment
			for _, g := range gs {
				pairs += len(g.Pairs)
				if limit > 0 && len(g.Pending) > limit-sent {
					g.Pending = g.Pending[:limit-sent]
				}
				if len(g.Pending) == 0 {
					continue
				}
				sent += len(g.Pending)
				gj, err := group.Grade(g)
				if err != nil {
					return err
				}
				for i := range gj {
					gj[i].LabelerID, gj[i].PromptVersion = lab.ID, group.PromptVersion()
				}
				js = append(js, gj...)
			}
			perQuery = max(1, float64(pairs)/float64(n))
			if len(js) > 0 {
				// Handed over even when the run is stopping: the writer
				// commits (or, after a failed commit, discards) everything
				// until results is closed, so Ctrl-C loses nothing graded.
				results <- js
			}
		}
		return nil
	}()
	<-done
	return errors.Join(err, writeErr)
}

// consumeChunks commits the chunks of judgments that arrive until in is
// closed, joining those that have arrived while the previous commit ran
// (up to inProcessCommit judgments). After a failed commit it commits
// nothing more (onError stops the work).
func (w *writer) consumeChunks(in <-chan []store.Judgment, onError func()) error {
	var batch []store.Judgment
	for js := range in {
		batch = append(batch[:0], js...)
		gather(in, func(more []store.Judgment) { batch = append(batch, more...) }, func() bool { return len(batch) >= inProcessCommit })
		for i := range batch {
			batch[i].RunID = w.run.ID
		}
		if err := w.commit(batch); err != nil {
			onError()
			for range in { // let the reader finish; commit nothing more
			}
			return err
		}
	}
	return nil
}

// answer is a judgment on its way to the workspace; ack, when set, gets the
// outcome of its commit.
type answer struct {
	j   store.Judgment
	ack chan error
}

// writer commits judgments with the run's progress, in one transaction per
// group: whatever has arrived while the previous commit ran, so an answer
// waits for one commit at most and a commit is never of one judgment when
// many arrive. Counts are never out of step with judgments.
type writer struct {
	st      *store.Store
	run     store.Run
	lab     store.Labeler
	started time.Time

	mu     sync.Mutex // p and report: notices come from other goroutines
	p      Progress
	report ProgressFunc
}

func newWriter(st *store.Store, run store.Run, lab store.Labeler, total int, report ProgressFunc) *writer {
	return &writer{st: st, run: run, lab: lab, started: time.Now(), report: report,
		p: Progress{RunID: run.ID, Kind: run.Kind, Labeler: lab.Name, Total: total}}
}

func (w *writer) notice(msg string) {
	if msg == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.p
	p.Notice, p.Elapsed = msg, time.Since(w.started)
	w.report.send(p)
}

// put hands a judgment to the writer and returns once it is committed.
func (w *writer) put(results chan<- answer, j store.Judgment) error {
	ack := make(chan error, 1)
	results <- answer{j: j, ack: ack}
	return <-ack
}

// consume commits what arrives until in is closed. After a failed commit
// it commits nothing more (onError stops the work) and acks the error.
func (w *writer) consume(in <-chan answer, onError func()) error {
	batch := make([]answer, 0, flushSize)
	js := make([]store.Judgment, 0, flushSize)
	var err error
	for a := range in {
		batch = append(batch[:0], a)
		gather(in, func(a answer) { batch = append(batch, a) }, func() bool { return len(batch) >= flushSize })
		if err == nil {
			js = js[:0]
			for _, a := range batch {
				a.j.RunID = w.run.ID
				js = append(js, a.j)
			}
			if err = w.commit(js); err != nil {
				onError()
			}
		}
		for _, a := range batch {
			if a.ack != nil {
				a.ack <- err
			}
		}
	}
	return err
}

// gather adds to a batch what has already arrived on in, without waiting
// for more, until full says it is full or in is closed.
func gather[T any](in <-chan T, add func(T), full func() bool) {
	for !full() {
		select {
		case v, ok := <-in:
			if !ok {
				return
			}
			add(v)
		default:
			return
		}
	}
}

// tally is what a batch of judgments adds to its run, and the reason of its
// last failure. A retried attempt is paid for but is not a verdict.
func tally(js []store.Judgment) (d store.RunDelta, lastErr string) {
	for _, j := range js {
		switch {
		case j.Retrying:
			d.Retried++
		case j.Status != store.StatusOK:
			d.Done++
			d.Failed++
		default:
			d.Done++
		}
		if j.Status != store.StatusOK && j.Reason != "" {
			lastErr = j.Reason
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
	w.mu.Lock()
	d.BusySeconds = now.Sub(w.started).Seconds() - w.p.Elapsed.Seconds()
	w.mu.Unlock()
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
	w.mu.Lock()
	defer w.mu.Unlock()
	w.p.Done += d.Done
	w.p.Failed += d.Failed
	w.p.Retried += d.Retried
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

// finish makes the run's total true — what it did when it finished, what
// it did plus what is left when it stopped early — and records how it
// ended. A canceled run is interrupted, with the command that resumes it.
func (w *writer) finish(err error, left store.PairFilter, limit int, params labelParams) (store.Run, error) {
	bg := context.Background()
	stored, rerr := w.st.Run(bg, w.run.ID)
	if rerr != nil {
		return endRun(w.st, w.run, w.p, w.report, errors.Join(err, rerr))
	}
	w.mu.Lock()
	done, planned := w.p.Done, w.p.Total
	w.mu.Unlock()
	total := stored.Done
	if err != nil {
		// Pairs still pending (claimed by others or not) are this run's to do.
		if n, cerr := w.st.CountPairs(bg, left); cerr == nil {
			if limit > 0 {
				n = min(n, max(limit-done, 0))
			}
			total += n
		}
	}
	if total != stored.Total {
		if serr := w.st.SetRunTotal(bg, w.run.ID, total); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	w.mu.Lock()
	w.p.Total = total - (stored.Done - done)
	w.p.Elapsed = time.Since(w.started)
	if err == nil && planned > w.p.Total {
		p := w.p
		p.Notice = fmt.Sprintf("%d of the pairs were graded by another run at the same time", planned-w.p.Total)
		w.report.send(p)
	}
	p := w.p
	w.mu.Unlock()
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		err = &interruptedError{cause: err, msg: fmt.Sprintf("interrupted: %d pairs graded, resume with `%s`",
			stored.Done, params.resumeCommand(w.lab.Name))}
	}
	return endRun(w.st, w.run, p, w.report, err)
}

// endRun records how a run ended — done, interrupted (a labeling run
// stopped by Ctrl-C), canceled (by Ctrl-C or a deadline) or failed with err — sends the final progress and returns the
// run as stored.
func endRun(st *store.Store, run store.Run, p Progress, report ProgressFunc, err error) (store.Run, error) {
	status := store.RunDone
	var interrupted *interruptedError
	switch {
	case errors.As(err, &interrupted):
		status = store.RunInterrupted
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
