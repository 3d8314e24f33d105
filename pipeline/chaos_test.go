package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// chaosLLM is a hostile endpoint: per request, at random, a 429 with
// Retry-After, a 500, a request that never answers (the client's timeout
// fires), prose instead of a grade, or the grade the document names.
// Documents marked FAULT=garbage always get prose. It counts, per
// document, the answers it gave (every 200 is paid for) and the grades.
type chaosLLM struct {
	*httptest.Server
	mu       sync.Mutex
	rng      *rand.Rand
	answered map[string]int // 200 answers (grades and prose)
	grades   map[string]int // 200 answers carrying a grade
	answers  atomic.Int64
}

const chaosUsageIn, chaosUsageOut = 100, 5

func newChaosLLM(t *testing.T) *chaosLLM {
	f := &chaosLLM{rng: rand.New(rand.NewPCG(11, 12)), answered: map[string]int{}, grades: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		user := string(raw)
		doc := match(docRe, user)
		grade, _ := strconv.Atoi(match(gradeRe, user))
		f.mu.Lock()
		roll := f.rng.IntN(100)
		f.mu.Unlock()
		content := fmt.Sprintf(`{"grade":%d}`, grade)
		switch {
		case roll < 4:
			w.Header().Set("Retry-After", "0.01")
			writeJSON(w, 429, apiError("rate limited"))
			return
		case roll < 8:
			writeJSON(w, 500, apiError("internal error"))
			return
		case roll < 9:
			<-r.Context().Done() // never answers: the client gives up
			return
		case roll < 16 || strings.Contains(user, "FAULT=garbage"):
			content = "This document seems fairly relevant to me."
		}
		writeJSON(w, 200, chatBody(content, "", usage{in: chaosUsageIn, out: chaosUsageOut}))
		f.mu.Lock()
		f.answered[doc]++
		if content[0] == '{' {
			f.grades[doc]++
		}
		f.mu.Unlock()
		f.answers.Add(1)
	}))
	t.Cleanup(f.Close)
	return f
}

// TestLabelChaos: 2,000 pairs against the hostile endpoint, interrupted and
// restarted several times, and run twice at once: every answerable pair is
// graded exactly once, no grade is invented, no answer is paid twice beyond
// the requests in flight at an interruption, and every run's counts are
// what the workspace holds.
func TestLabelChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of hostile endpoint")
	}
	const n, conc, garbageEvery = 2000, 16, 97
	st, pairs := modelWorkspace(t, n, func(i int) string {
		if i%garbageEvery == 5 {
			return fmt.Sprintf("GRADE=%d FAULT=garbage", i%4)
		}
		return fmt.Sprintf("GRADE=%d", i%4)
	})
	docOf := pairDoc(pairs)
	f := newChaosLLM(t)
	// The client's timeout is well above the time to answer even under the
	// race detector: an answer that arrives after the client gave up is paid
	// twice by design (README), and is not what this test measures.
	lab := store.Labeler{Name: "teacher", Kind: store.KindLLM, BaseURL: f.URL + "/v1", Model: testModel, APIKeyEnv: testKeyEnv,
		PriceIn: priceIn, PriceOut: priceOut, Config: store.LabelerConfig{Concurrency: conc, TimeoutSec: 1}}
	if err := st.AddLabeler(context.Background(), &lab); err != nil {
		t.Fatal(err)
	}
	st2, err := store.Open(context.Background(), st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()

	interruptions := 0
	// label runs one Label on s, canceled once the server has given `more`
	// answers since it started (0: not canceled).
	label := func(s *store.Store, more int64) (store.Run, error) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if more > 0 {
			stopAt := f.answers.Load() + more
			go func() {
				for f.answers.Load() < stopAt && ctx.Err() == nil {
					time.Sleep(2 * time.Millisecond)
				}
				cancel()
			}()
		}
		run, err := Label(ctx, s, LabelOptions{Labeler: "teacher", DrainTimeout: 3 * time.Second})
		if more > 0 && errors.Is(err, context.Canceled) {
			if run.Status != store.RunInterrupted || !strings.HasPrefix(run.Error, "interrupted: ") {
				t.Errorf("canceled run %d reads %s %q", run.ID, run.Status, run.Error)
			}
			return run, nil
		}
		return run, err
	}
	twice := func(more int64) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*store.Store{st, st2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = label(s, more)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	step := func(what string, fn func()) {
		t.Helper()
		t0 := time.Now()
		fn()
		t.Logf("%s: %d answers so far (%s)", what, f.answers.Load(), time.Since(t0).Round(time.Millisecond))
	}
	step("one run, interrupted", func() {
		if _, err := label(st, 300); err != nil {
			t.Fatal(err)
		}
		interruptions++
	})
	step("two runs at once, both interrupted", func() { twice(500); interruptions += 2 })
	step("one run, interrupted again", func() {
		if _, err := label(st2, 300); err != nil {
			t.Fatal(err)
		}
		interruptions++
	})
	step("two runs at once, to the end", func() { twice(0) })
	// The prose every time pairs stay failed; a failure is not a grade, so
	// every rerun asks them again (and a pair unlucky three times in a row
	// gets its grade).
	step("reruns", func() {
		for range 3 {
			if _, err := label(st, 0); err != nil {
				t.Fatal(err)
			}
		}
	})

	ctx := context.Background()
	// Every answerable pair graded exactly once, with its grade; the others
	// never graded.
	type hist struct{ ok, answers int }
	perPair := map[int64]*hist{}
	rows, err := st.DB().Query(`SELECT pair_id, status FROM judgment_history WHERE labeler_id = ?`, lab.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var status string
		rows.Scan(&id, &status)
		h := perPair[id]
		if h == nil {
			h = &hist{}
			perPair[id] = h
		}
		if status == store.StatusOK {
			h.ok++
		}
		if status == store.StatusOK || status == store.StatusUnparseable {
			h.answers++ // a 200 the client read
		}
	}
	rows.Close()
	js := judgments(t, st, lab.ID)
	lost, paidTwice, garbage := 0, 0, 0
	f.mu.Lock()
	for pid, doc := range docOf {
		var i int
		fmt.Sscanf(doc, "d%d", &i)
		h := perPair[pid]
		if h == nil {
			h = &hist{}
		}
		j := js[pid]
		if i%garbageEvery == 5 {
			garbage++
			if h.ok != 0 || j.Status == store.StatusOK {
				t.Errorf("%s: prose every time, yet graded", doc)
			}
		} else if h.ok != 1 || j.Status != store.StatusOK || j.Grade != i%4 {
			t.Errorf("%s: %d ok grades in the history, current %s grade %d (want one, grade %d)", doc, h.ok, j.Status, j.Grade, i%4)
		}
		lost += f.answered[doc] - h.answers
		if f.answered[doc] < h.answers {
			t.Errorf("%s: %d answers recorded, the server gave %d", doc, h.answers, f.answered[doc])
		}
		paidTwice += max(0, f.grades[doc]-1)
	}
	serverAnswers := f.answers.Load()
	f.mu.Unlock()
	t.Logf("%d pairs (%d never answerable), %d answers given; after %d interruptions: %d answers lost, %d pairs paid twice",
		n, garbage, serverAnswers, interruptions, lost, paidTwice)
	if bound := conc * interruptions; lost > bound || paidTwice > bound {
		t.Errorf("%d answers lost and %d pairs paid twice, beyond the %d requests in flight at interruptions", lost, paidTwice, bound)
	}
	var invented int
	st.DB().QueryRow(`SELECT count(*) FROM judgment_history WHERE labeler_id = ? AND status != 'ok' AND grade IS NOT NULL`, lab.ID).Scan(&invented)
	if invented != 0 {
		t.Errorf("%d failures carry a grade", invented)
	}

	// Each run's counts are what the history holds of it; together the runs
	// paid what the server charged for the answers they read.
	runs, err := st.Runs(ctx, store.RunLabeling, 0)
	if err != nil {
		t.Fatal(err)
	}
	costs := 0.0
	statuses := map[string]int{}
	for _, r := range runs {
		var done, failed, retried int
		st.DB().QueryRow(`SELECT count(*) FILTER (WHERE retrying = 0), count(*) FILTER (WHERE retrying = 0 AND status != 'ok'), count(*) FILTER (WHERE retrying = 1)
			FROM judgment_history WHERE run_id = ?`, r.ID).Scan(&done, &failed, &retried)
		if r.Done != done || r.Failed != failed || r.Retried != retried || r.Done > r.Total || (r.Status == store.RunDone && r.Done != r.Total) {
			t.Errorf("run %d (%s): done %d of %d, failed %d, retried %d; its history: done %d, failed %d, retried %d",
				r.ID, r.Status, r.Done, r.Total, r.Failed, r.Retried, done, failed, retried)
		}
		costs += r.CostUSD
		statuses[r.Status]++
	}
	t.Logf("runs: %v", statuses)
	// Interrupted runs were resumed: none is left running or interrupted.
	if statuses[store.RunRunning] != 0 || statuses[store.RunInterrupted] != 0 || statuses[store.RunDone] == 0 {
		t.Errorf("run statuses %v", statuses)
	}
	charged := float64(serverAnswers-int64(lost)) * usage{in: chaosUsageIn, out: chaosUsageOut}.cost()
	if !approx(costs, charged) {
		t.Errorf("runs cost $%g, the answers they read cost $%g", costs, charged)
	}
	if left := count(t, st, "leases"); left != 0 {
		t.Errorf("%d claims left behind", left)
	}
}

func count(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
