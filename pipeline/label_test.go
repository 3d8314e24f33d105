package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

var grades03 = []int{0, 1, 2, 3}

// modelWorkspace makes n documents d0..d(n-1), each paired with exactly one
// query (q0 holds d0..d9, q1 d10..d19, ...), so the fake's per-document
// request counts are per-pair counts. body(i) adds markers to document i.
func modelWorkspace(t testing.TB, n int, body func(i int) string) (*store.Store, map[string]int64) {
	t.Helper()
	st := newWorkspace(t, "0-3")
	var docs []tdoc
	var qs []tquery
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("d%d", i)
		docs = append(docs, tdoc{id: id, title: "Document " + id, body: fmt.Sprintf("Falcon roadmap notes. DOC=%s %s\n", id, body(i))})
		if i%10 == 0 {
			qs = append(qs, tquery{id: fmt.Sprintf("q%d", i/10), text: fmt.Sprintf("falcon roadmap %d", i/10)})
		}
		qs[len(qs)-1].docs = append(qs[len(qs)-1].docs, id)
	}
	return st, populate(t, st, docs, qs)
}

// pairDoc maps pair id -> document id.
func pairDoc(pairs map[string]int64) map[int64]string {
	out := map[int64]string{}
	for k, id := range pairs {
		out[id] = k[strings.IndexByte(k, '/')+1:]
	}
	return out
}

// checkCosts asserts every judgment's tokens are the usage of the fake's
// latest paid answer for its document, its cost is usage × price, and
// returns the sum of judgment costs.
func checkCosts(t *testing.T, f *fakeLLM, js map[int64]store.Judgment, docOf map[int64]string, factor float64) float64 {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	sum := 0.0
	for pid, j := range js {
		doc := docOf[pid]
		u, paid := f.lastPaid[doc]
		if !paid {
			if j.TokensIn != 0 || j.TokensOut != 0 || j.CostUSD != 0 {
				t.Errorf("%s: unpaid judgment has tokens %d/%d cost %g", doc, j.TokensIn, j.TokensOut, j.CostUSD)
			}
			continue
		}
		if j.TokensIn != u.in || j.TokensOut != u.out {
			t.Errorf("%s: tokens %d/%d, server charged %d/%d", doc, j.TokensIn, j.TokensOut, u.in, u.out)
		}
		if !approx(j.CostUSD, u.cost()*factor) {
			t.Errorf("%s: cost %g, want %g", doc, j.CostUSD, u.cost()*factor)
		}
		sum += j.CostUSD
	}
	return sum
}

func TestLabelFaultsStatusesAndRetries(t *testing.T) {
	t.Setenv(testKeyEnv, "sk-pipeline-test")
	ctx := context.Background()
	markers := []string{
		"GRADE=1",                   // d0: plain
		"GRADE=2 FAULT=400x1",       // d1: 400 (not retried): error, then ok on a rerun
		"GRADE=3 FAULT=scalex1",     // d2: out-of-scale grade: unparseable, ok with RetryFailed
		"GRADE=0 FAULT=malformedx1", // d3: malformed JSON body: error, then ok
		"GRADE=2 FAULT=garbage",     // d4: prose every time: unparseable for good
		"GRADE=2 FAULT=500x2",       // d5: two 500s, retried within the call
		"GRADE=1 FAULT=429x1",       // d6: 429 with Retry-After, retried
		"GRADE=3 FAULT=slowx1",      // d7: timeout, retried
		"GRADE=2 FAULT=dropx1",      // d8: dropped connection, retried
		"GRADE=1 FAULT=refusex1",    // d9: refusal, ok with RetryFailed
		"GRADE=0",                   // d10
		"GRADE=3",                   // d11
	}
	st, pairs := modelWorkspace(t, len(markers), func(i int) string { return markers[i] })
	docOf := pairDoc(pairs)
	f := newFakeLLM(t, grades03)
	f.wantKey = "sk-pipeline-test"
	lab := addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 4, TimeoutSec: 0.3})

	type want struct {
		status   string
		grade    int // -1: none stored
		recv     int
		attempts int
		reason   string
		raw      string
	}
	check := func(step string, exp map[string]want) {
		t.Helper()
		js := judgments(t, st, lab.ID)
		recv, _ := f.counts()
		byDoc := map[string]store.Judgment{}
		for pid, j := range js {
			byDoc[docOf[pid]] = j
		}
		for doc, w := range exp {
			j, ok := byDoc[doc]
			if !ok {
				t.Errorf("%s: %s has no judgment", step, doc)
				continue
			}
			if j.Status != w.status || j.Grade != w.grade || recv[doc] != w.recv ||
				(w.attempts > 0 && j.Attempts != w.attempts) || !strings.Contains(j.Reason, w.reason) || (w.raw != "" && j.Raw != w.raw) {
				t.Errorf("%s: %s = status %s grade %d attempts %d requests %d reason %q raw %q; want %+v",
					step, doc, j.Status, j.Grade, j.Attempts, recv[doc], j.Reason, j.Raw, w)
			}
			if j.Status != store.StatusOK && (j.Probs != nil || j.HasExpected) {
				t.Errorf("%s: %s failed but has probabilities or an expected grade", step, doc)
			}
		}
		var graded int
		st.DB().QueryRow(`SELECT count(*) FROM judgments WHERE labeler_id = ? AND status != 'ok' AND grade IS NOT NULL`, lab.ID).Scan(&graded)
		if graded != 0 {
			t.Errorf("%s: %d failed judgments carry a grade", step, graded)
		}
	}

	// Run 1: every pair once; an unparseable answer is asked again at once
	// (twice at most), each failed attempt kept in the history.
	var log1 progressLog
	run, err := Label(ctx, st, LabelOptions{Labeler: "gpt", Progress: log1.add})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunDone || run.Done != 12 || run.Failed != 4 || run.Retried != 3 || run.Total != 12 {
		t.Fatalf("run 1: %+v", run)
	}
	log1.checkMonotone(t, 12, store.RunDone)
	if end := log1.events[len(log1.events)-1]; end.Retried != 3 || end.Failed != 4 {
		t.Fatalf("run 1 final progress %+v", end)
	}
	check("run 1", map[string]want{
		"d0":  {store.StatusOK, 1, 1, 1, "", `{"grade":1}`},
		"d1":  {store.StatusError, -1, 1, 1, "http 400", ""},
		"d2":  {store.StatusOK, 3, 2, 1, "", `{"grade":3}`},
		"d3":  {store.StatusError, -1, 1, 1, "malformed", ""},
		"d4":  {store.StatusUnparseable, -1, 3, 1, "not a JSON object", "I think this document is quite relevant."},
		"d5":  {store.StatusOK, 2, 3, 3, "", ""},
		"d6":  {store.StatusOK, 1, 2, 2, "", ""},
		"d7":  {store.StatusOK, 3, 2, 2, "", ""},
		"d8":  {store.StatusOK, 2, 2, 2, "", ""},
		"d9":  {store.StatusRefused, -1, 1, 1, "refused", "I can't help with that."},
		"d10": {store.StatusOK, 0, 1, 1, "", ""},
		"d11": {store.StatusOK, 3, 1, 1, "", ""},
	})
	// The history holds each failed attempt, marked as retried, then the
	// run's verdict.
	history := func(doc string) []string {
		t.Helper()
		rows, err := st.DB().Query(`SELECT status, retrying FROM judgment_history WHERE labeler_id = ? AND pair_id = ? ORDER BY id`, lab.ID, pairs["q0/"+doc])
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			var r bool
			rows.Scan(&s, &r)
			if r {
				s += "(retried)"
			}
			out = append(out, s)
		}
		return out
	}
	if h := fmt.Sprint(history("d2")); h != "[unparseable(retried) ok]" {
		t.Errorf("d2 history %s", h)
	}
	if h := fmt.Sprint(history("d4")); h != "[unparseable(retried) unparseable(retried) unparseable]" {
		t.Errorf("d4 history %s", h)
	}
	js := judgments(t, st, lab.ID)
	checkCosts(t, f, js, docOf, 1)
	// The run paid for every answer, retried ones included.
	if !approx(run.CostUSD, f.paidCost) {
		t.Fatalf("run 1 cost %g, server charged %g", run.CostUSD, f.paidCost)
	}

	// Run 2: a failure is not a grade: a plain rerun asks again every pair
	// whose last attempt failed (errors, unparseable, refused).
	before := f.total.Load()
	paidBefore := f.paidCost
	var log2 progressLog
	run2, err := Label(ctx, st, LabelOptions{Labeler: "gpt", Progress: log2.add})
	if err != nil {
		t.Fatal(err)
	}
	if run2.ID == run.ID || run2.Done != 4 || run2.Failed != 1 || run2.Retried != 2 || f.total.Load()-before != 6 {
		t.Fatalf("run 2: %+v, %d requests", run2, f.total.Load()-before)
	}
	log2.checkMonotone(t, 4, store.RunDone)
	if !approx(run2.CostUSD, f.paidCost-paidBefore) {
		t.Fatalf("run 2 cost %g, server charged %g", run2.CostUSD, f.paidCost-paidBefore)
	}
	check("run 2", map[string]want{
		"d0": {store.StatusOK, 1, 1, 1, "", ""},
		"d1": {store.StatusOK, 2, 2, 1, "", ""},
		"d2": {store.StatusOK, 3, 2, 1, "", ""},
		"d3": {store.StatusOK, 0, 2, 1, "", ""},
		"d4": {store.StatusUnparseable, -1, 6, 1, "", ""},
		"d9": {store.StatusOK, 1, 2, 1, "", ""},
	})

	// Run 3: the deprecated RetryFailed changes nothing: only the pair that
	// keeps failing is asked again.
	before = f.total.Load()
	run3, err := Label(ctx, st, LabelOptions{Labeler: "gpt", RetryFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	if run3.Done != 1 || run3.Failed != 1 || f.total.Load()-before != 3 {
		t.Fatalf("run 3: %+v, %d requests", run3, f.total.Load()-before)
	}
	// No failure ever carries a grade; every judgment's cost is its last
	// answer's usage × price; the runs add up to what the server charged.
	var graded int
	st.DB().QueryRow(`SELECT count(*) FROM judgment_history WHERE labeler_id = ? AND status != 'ok' AND grade IS NOT NULL`, lab.ID).Scan(&graded)
	if graded != 0 {
		t.Errorf("%d failed attempts carry a grade", graded)
	}
	js = judgments(t, st, lab.ID)
	checkCosts(t, f, js, docOf, 1)
	runs, _ := st.Runs(ctx, store.RunLabeling, 0)
	total := 0.0
	for _, r := range runs {
		total += r.CostUSD
	}
	if !approx(total, f.paidCost) {
		t.Fatalf("runs cost %g, server charged %g", total, f.paidCost)
	}
}

// TestLabelCancelResume: Ctrl-C after N answers commits them; the rerun
// resumes the same run and pays for no pair twice.
func TestLabelCancelResume(t *testing.T) {
	const n, stopAt = 40, 13
	st, pairs := modelWorkspace(t, n, func(i int) string { return fmt.Sprintf("GRADE=%d", i%4) })
	docOf := pairDoc(pairs)
	f := newFakeLLM(t, grades03)
	lab := addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 4, TimeoutSec: 10})
	f.blockAfter.Store(stopAt)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log1 progressLog
	// The requests held by the server never answer: the drain gives up on
	// them after a moment.
	run1, err := Label(ctx, st, LabelOptions{Labeler: "gpt", DrainTimeout: 50 * time.Millisecond, Progress: func(p Progress) {
		log1.add(p)
		if p.Done >= stopAt {
			cancel() // Ctrl-C once N answers are saved; the rest hang on the server
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run returned %v", err)
	}
	log1.checkMonotone(t, stopAt, store.RunInterrupted)
	stored, _ := st.Run(context.Background(), run1.ID)
	if stored.Status != store.RunInterrupted || stored.Done != stopAt || stored.Failed != 0 || stored.Total != n ||
		stored.Error != fmt.Sprintf("interrupted: %d pairs graded, resume with `qrelbench label --labeler gpt`", stopAt) {
		t.Fatalf("interrupted run: %+v", stored)
	}
	if leases, _ := st.DB().Query(`SELECT 1 FROM leases`); leases.Next() {
		t.Errorf("the interrupted run left claims behind")
		leases.Close()
	} else {
		leases.Close()
	}
	if js := judgments(t, st, lab.ID); len(js) != stopAt {
		t.Fatalf("%d judgments committed, want %d", len(js), stopAt)
	}

	f.blockAfter.Store(0)
	var log2 progressLog
	run2, err := Label(context.Background(), st, LabelOptions{Labeler: "gpt", Progress: log2.add})
	if err != nil {
		t.Fatal(err)
	}
	if run2.ID != run1.ID {
		t.Fatalf("rerun started run %d instead of resuming %d", run2.ID, run1.ID)
	}
	notices := log2.notices()
	wantNotice := fmt.Sprintf("resuming run %d (%d done before)", run1.ID, stopAt)
	if len(notices) != 1 || notices[0] != wantNotice {
		t.Fatalf("notices %q, want %q", notices, wantNotice)
	}
	log2.checkMonotone(t, n-stopAt, store.RunDone)
	if run2.Status != store.RunDone || run2.Done != n || run2.Total != n || run2.Failed != 0 {
		t.Fatalf("resumed run: %+v", run2)
	}
	js := judgments(t, st, lab.ID)
	if len(js) != n {
		t.Fatalf("%d judgments, want %d", len(js), n)
	}
	_, paid := f.counts()
	totalPaid := 0
	for doc, c := range paid {
		totalPaid += c
		if c != 1 {
			t.Errorf("%s answered %d times", doc, c)
		}
	}
	if totalPaid != n {
		t.Fatalf("%d answers paid for %d pairs", totalPaid, n)
	}
	for pid, j := range js {
		var i int
		fmt.Sscanf(docOf[pid], "d%d", &i)
		if j.Status != store.StatusOK || j.Grade != i%4 || j.RunID != run1.ID {
			t.Errorf("%s: %+v", docOf[pid], j)
		}
	}
	sum := checkCosts(t, f, js, docOf, 1)
	if !approx(run2.CostUSD, sum) || !approx(sum, f.paidCost) {
		t.Fatalf("run cost %g, judgments %g, server %g", run2.CostUSD, sum, f.paidCost)
	}
}

// TestLabelAllRegradesOnce: --all regrades every pair once; a resumed --all
// run does not regrade pairs it already did.
func TestLabelAllRegradesOnce(t *testing.T) {
	const n, stopAt = 30, 11
	st, pairs := modelWorkspace(t, n, func(i int) string { return fmt.Sprintf("GRADE=%d", i%4) })
	docOf := pairDoc(pairs)
	f := newFakeLLM(t, grades03)
	lab := addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 3})
	ctx := context.Background()

	run1, err := Label(ctx, st, LabelOptions{Labeler: "gpt"})
	if err != nil || run1.Done != n {
		t.Fatalf("first run %+v: %v", run1, err)
	}
	paidEach := func(want int) {
		t.Helper()
		_, paid := f.counts()
		if len(paid) != n {
			t.Fatalf("%d documents answered, want %d", len(paid), n)
		}
		for doc, c := range paid {
			if c != want {
				t.Errorf("%s answered %d times, want %d", doc, c, want)
			}
		}
	}
	paidEach(1)

	// A plain rerun grades nothing (and records no empty run).
	if r, err := Label(ctx, st, LabelOptions{Labeler: "gpt"}); err != nil || r.Done != 0 || r.ID != 0 {
		t.Fatalf("plain rerun %+v: %v", r, err)
	}
	paidEach(1)

	// --all, interrupted after stopAt answers.
	f.blockAfter.Store(stopAt)
	f.served.Store(0)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run2, err := Label(cctx, st, LabelOptions{Labeler: "gpt", All: true, DrainTimeout: 50 * time.Millisecond, Progress: func(p Progress) {
		if p.Done >= stopAt {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || run2.ID == run1.ID {
		t.Fatalf("interrupted --all run %d: %v", run2.ID, err)
	}
	var inRun2 int
	st.DB().QueryRow(`SELECT count(*) FROM judgments WHERE labeler_id = ? AND run_id = ?`, lab.ID, run2.ID).Scan(&inRun2)
	if inRun2 != stopAt {
		t.Fatalf("%d judgments in the interrupted --all run, want %d", inRun2, stopAt)
	}

	// Resumed --all: only the pairs the interrupted run did not regrade.
	f.blockAfter.Store(0)
	var log progressLog
	run3, err := Label(ctx, st, LabelOptions{Labeler: "gpt", All: true, Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if run3.ID != run2.ID || run3.Done != n || run3.Total != n || run3.Status != store.RunDone {
		t.Fatalf("resumed --all run %+v (interrupted was %d)", run3, run2.ID)
	}
	if ns := log.notices(); len(ns) != 1 || !strings.HasPrefix(ns[0], fmt.Sprintf("resuming run %d", run2.ID)) {
		t.Fatalf("notices %q", ns)
	}
	log.checkMonotone(t, n-stopAt, store.RunDone)
	paidEach(2)
	for pid, j := range judgments(t, st, lab.ID) {
		if j.RunID != run2.ID {
			t.Errorf("%s: judgment from run %d, want %d", docOf[pid], j.RunID, run2.ID)
		}
	}

	// A new --all regrades every pair once more.
	run4, err := Label(ctx, st, LabelOptions{Labeler: "gpt", All: true})
	if err != nil || run4.ID == run3.ID || run4.Done != n {
		t.Fatalf("second --all %+v: %v", run4, err)
	}
	paidEach(3)
	var hist int
	st.DB().QueryRow(`SELECT count(*) FROM judgment_history WHERE labeler_id = ?`, lab.ID).Scan(&hist)
	if hist != 3*n {
		t.Fatalf("%d history rows, want %d", hist, 3*n)
	}
}

func TestLabelLogprobsMode(t *testing.T) {
	st, pairs := modelWorkspace(t, 8, func(i int) string { return fmt.Sprintf("GRADE=%d", i%4) })
	docOf := pairDoc(pairs)
	f := newFakeLLM(t, grades03)
	f.wantLP = true
	lab := addModelLabeler(t, st, "lp", f, store.LabelerConfig{Mode: "logprobs", Concurrency: 2})
	run, err := Label(context.Background(), st, LabelOptions{Labeler: "lp"})
	if err != nil || run.Done != 8 || run.Failed != 0 {
		t.Fatalf("%+v: %v", run, err)
	}
	for pid, j := range judgments(t, st, lab.ID) {
		var i int
		fmt.Sscanf(docOf[pid], "d%d", &i)
		g := i % 4
		other := g - 1
		if other < 0 {
			other = 1
		}
		want := make([]float64, 4)
		want[g], want[other] = 0.7, 0.3
		if j.Grade != g || len(j.Probs) != 4 || !j.HasExpected || !strings.HasPrefix(j.PromptVersion, "umbrela-v1-logprobs-0to3-") {
			t.Fatalf("%s: %+v", docOf[pid], j)
		}
		exp := 0.0
		for k := range want {
			if math.Abs(j.Probs[k]-want[k]) > 1e-9 {
				t.Fatalf("%s: probs %v, want %v", docOf[pid], j.Probs, want)
			}
			exp += float64(k) * want[k]
		}
		if math.Abs(j.Expected-exp) > 1e-9 {
			t.Fatalf("%s: expected %g, want %g", docOf[pid], j.Expected, exp)
		}
	}
}

func TestLabelFiltersAndErrors(t *testing.T) {
	st, _ := modelWorkspace(t, 30, func(i int) string { return "GRADE=1" })
	f := newFakeLLM(t, grades03)
	lab := addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 2})
	ctx := context.Background()

	run, err := Label(ctx, st, LabelOptions{Labeler: "gpt", Queries: []string{"q1"}})
	if err != nil || run.Done != 10 || f.total.Load() != 10 {
		t.Fatalf("--query q1: %+v, %d requests: %v", run, f.total.Load(), err)
	}
	var other int
	st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN pairs p ON p.id = j.pair_id JOIN queries q ON q.id = p.query_id
		WHERE j.labeler_id = ? AND q.ext_id != 'q1'`, lab.ID).Scan(&other)
	if other != 0 {
		t.Fatalf("%d judgments outside q1", other)
	}
	run, err = Label(ctx, st, LabelOptions{Labeler: "gpt", Limit: 7})
	if err != nil || run.Done != 7 || run.Total != 7 || f.total.Load() != 17 {
		t.Fatalf("--limit 7: %+v, %d requests: %v", run, f.total.Load(), err)
	}
	if _, err := Label(ctx, st, LabelOptions{Labeler: "gpt", Queries: []string{"q1", "nope"}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown query: %v", err)
	}
	if _, err := Label(ctx, st, LabelOptions{Labeler: "nobody"}); !errors.Is(err, store.ErrNoLabeler) {
		t.Fatalf("unknown labeler: %v", err)
	}
	human := store.Labeler{Name: "alice", Kind: store.KindHuman}
	if err := st.AddLabeler(ctx, &human); err != nil {
		t.Fatal(err)
	}
	if _, err := Label(ctx, st, LabelOptions{Labeler: "alice"}); err == nil || !strings.Contains(err.Error(), "human") {
		t.Fatalf("human labeler: %v", err)
	}
	if f.total.Load() != 17 {
		t.Fatalf("%d requests after refused runs", f.total.Load())
	}
}

// TestLabelStopsAskingWhenTheStoreFails: when judgments can no longer be
// committed, the run stops sending requests (their answers could not be
// kept) and fails with the store's error.
func TestLabelStopsAskingWhenTheStoreFails(t *testing.T) {
	const n = 400
	st, _ := modelWorkspace(t, n, func(i int) string { return fmt.Sprintf("GRADE=%d", i%4) })
	f := newFakeLLM(t, grades03)
	f.latency = 20 * time.Millisecond
	addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 4, TimeoutSec: 10})
	broken := false
	_, err := Label(context.Background(), st, LabelOptions{Labeler: "gpt", Progress: func(p Progress) {
		if p.Done > 0 && !broken {
			broken = true // the next commit fails
			if _, err := st.DB().Exec(`DROP TABLE judgment_history`); err != nil {
				t.Error(err)
			}
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "judgment_history") {
		t.Fatalf("Label returned %v, want the store's error", err)
	}
	recv, _ := f.counts()
	total := 0
	for _, c := range recv {
		total += c
	}
	if total >= n/2 {
		t.Errorf("%d of %d pairs were still sent after the store failed", total, n)
	}
}
