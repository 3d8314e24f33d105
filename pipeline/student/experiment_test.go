package student

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store/storetest"
)

// The distillation experiment: on every split of the shared data it trains
// the student on the training queries' teacher grades and compares it with
// the lexical grader on the held-out queries, by Cohen's kappa and
// quadratic kappa against the human grades there.
//
//   - test-visible (13 queries), teachers the GPT-4o judges of runs-visible
//     (Olz-gpt4o, RMITIR-GPT4o): two-way splits by query, 6 training queries
//     and the other 7 held out, and the swap (7 train, 6 held out);
//     QRELBENCH_EXPERIMENT_SPLITS (default 200) seeded draws of the 1,716
//     six-query sets, each used in both orientations, or all of them with
//     QRELBENCH_EXPERIMENT_SPLITS=all;
//   - dev (25 queries) and dl19 (43 queries), the human grades standing in
//     for the teacher: leave-k-queries-out (5 folds of queries, 10 seeded
//     repetitions: train on 4/5, hold out 1/5), the small-teacher regime
//     (train on 6 random queries, hold out the rest, 50 seeded draws) and
//     a middle one (15 training queries, 20 seeded draws).
//
// It only runs with QRELBENCH_EXPERIMENT=1 (benchmark/distill-experiment.sh
// sets it) and logs one table; it fails if the lexical-prior student is
// below lexical on average or more than 0.02 below it in the worst case.

type expSplit struct {
	train, test []int // indices into the data set's rows
}

type expSetting struct {
	name    string
	rows    []pairRow
	teacher func(pairRow) (int, bool)
	splits  []expSplit
}

type expOutcome struct {
	lexK, lexQ, stuK, stuQ float64
	fallback               bool
	trainPairs             int
	dur                    time.Duration
}

func queryIDs(rows []pairRow) []string {
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.QueryID)
	}
	return uniq(ids)
}

// splitRows returns the rows of the queries in train and in the others.
func splitRows(rows []pairRow, train map[string]bool) expSplit {
	var sp expSplit
	for i, r := range rows {
		if train[r.QueryID] {
			sp.train = append(sp.train, i)
		} else {
			sp.test = append(sp.test, i)
		}
	}
	return sp
}

// twoWaySplits: n seeded draws (or all, n <= 0) of the size-k query sets,
// each used as the training set and as the held-out set.
func twoWaySplits(rows []pairRow, k, n int, seed uint64) []expSplit {
	ids := queryIDs(rows)
	var sets [][]int
	var rec func(start int, cur []int)
	rec = func(start int, cur []int) {
		if len(cur) == k {
			sets = append(sets, slices.Clone(cur))
			return
		}
		for i := start; i < len(ids); i++ {
			rec(i+1, append(cur, i))
		}
	}
	rec(0, nil)
	if n > 0 && n < len(sets) {
		r := rand.New(rand.NewPCG(seed, 1))
		r.Shuffle(len(sets), func(i, j int) { sets[i], sets[j] = sets[j], sets[i] })
		sets = sets[:n]
	}
	var out []expSplit
	for _, s := range sets {
		in := map[string]bool{}
		for _, i := range s {
			in[ids[i]] = true
		}
		sp := splitRows(rows, in)
		out = append(out, sp, expSplit{train: sp.test, test: sp.train})
	}
	return out
}

// shuffled returns the query ids of rows in a seeded order.
func shuffled(rows []pairRow, seed, stream uint64) []string {
	perm := queryIDs(rows)
	r := rand.New(rand.NewPCG(seed, stream))
	r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}

// leaveOut: reps seeded shuffles of the queries into k folds; each fold is
// held out once, the others train.
func leaveOut(rows []pairRow, k, reps int, seed uint64) []expSplit {
	var out []expSplit
	for rep := range reps {
		perm := shuffled(rows, seed, uint64(rep))
		for f := range k {
			in := map[string]bool{}
			for i, id := range perm {
				if i%k != f {
					in[id] = true
				}
			}
			out = append(out, splitRows(rows, in))
		}
	}
	return out
}

// smallTrain: n seeded draws of k training queries; the rest are held out.
func smallTrain(rows []pairRow, k, n int, seed uint64) []expSplit {
	var out []expSplit
	for d := range n {
		in := map[string]bool{}
		for _, id := range shuffled(rows, seed, uint64(d))[:k] {
			in[id] = true
		}
		out = append(out, splitRows(rows, in))
	}
	return out
}

// runSetting trains with opt on every split (in parallel) and scores the
// student and lexical on the held-out queries against the human grades.
func runSetting(t *testing.T, s expSetting, opt TrainOptions) []expOutcome {
	out := make([]expOutcome, len(s.splits))
	var wg sync.WaitGroup
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sp := s.splits[i]
				var ex []Example
				for _, ri := range sp.train {
					if g, ok := s.teacher(s.rows[ri]); ok {
						ex = append(ex, Example{X: s.rows[ri].x, Grade: g, Query: s.rows[ri].QueryID})
					}
				}
				t0 := time.Now()
				m, err := Train(ex, opt)
				dur := time.Since(t0)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					continue
				}
				test := make([]pairRow, len(sp.test))
				for j, ri := range sp.test {
					test[j] = s.rows[ri]
				}
				o := expOutcome{fallback: m.Summary.LexicalFallback, trainPairs: len(ex), dur: dur}
				o.lexK, o.lexQ, _ = agreement(test, lexicalGrade)
				o.stuK, o.stuQ, _ = agreement(test, func(p pairRow) (int, bool) {
					g, _, _ := m.Predict(p.x, nil)
					return g, true
				})
				out[i] = o
			}
		}()
	}
	for i := range s.splits {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("%s: %v", s.name, firstErr)
	}
	return out
}

type expSummary struct {
	n                         int
	lexK, lexQ, stuK, stuQ    float64 // means
	dK, dQ, worstK, worstQ    float64 // student - lexical: mean and minimum
	fallback                  float64 // share of splits where the student stayed lexical
	meanTrainPairs, msPer1000 float64
}

func summarise(os []expOutcome) expSummary {
	s := expSummary{n: len(os), worstK: math.Inf(1), worstQ: math.Inf(1)}
	var ms float64
	for _, o := range os {
		s.lexK += o.lexK
		s.lexQ += o.lexQ
		s.stuK += o.stuK
		s.stuQ += o.stuQ
		s.worstK = math.Min(s.worstK, o.stuK-o.lexK)
		s.worstQ = math.Min(s.worstQ, o.stuQ-o.lexQ)
		if o.fallback {
			s.fallback++
		}
		s.meanTrainPairs += float64(o.trainPairs)
		ms += float64(o.dur.Microseconds()) / 1000 / (float64(o.trainPairs) / 1000)
	}
	n := float64(len(os))
	s.lexK /= n
	s.lexQ /= n
	s.stuK /= n
	s.stuQ /= n
	s.dK, s.dQ = s.stuK-s.lexK, s.stuQ-s.lexQ
	s.fallback /= n
	s.meanTrainPairs /= n
	s.msPer1000 = ms / n
	return s
}

func experimentSettings(t *testing.T) []expSetting {
	dir := storetest.DataDir(t)
	nSplits := 200
	if v := os.Getenv("QRELBENCH_EXPERIMENT_SPLITS"); v == "all" {
		nSplits = 0
	} else if v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("QRELBENCH_EXPERIMENT_SPLITS=%q: want a positive count or all", v)
		}
		nSplits = n
	}
	var out []expSetting
	only := os.Getenv("QRELBENCH_EXPERIMENT_ONLY") // a substring of the settings to run
	add := func(s expSetting) {
		if only == "" || strings.Contains(s.name, only) {
			out = append(out, s)
		}
	}
	tv := buildPairs(readJSONL(t, filepath.Join(dir, "llmjudge", "test-visible.jsonl")))
	judges, err := filepath.Glob(filepath.Join(dir, "llmjudge", "runs-visible", "*.qrels"))
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range judges {
		name := strings.TrimSuffix(filepath.Base(j), ".qrels")
		if !strings.Contains(strings.ToLower(name), "4o") { // the GPT-4o judges, by name
			continue
		}
		q := readQrels(t, j)
		add(expSetting{
			name: "test-visible, teacher " + name + ", 6|7 and 7|6 query splits",
			rows: tv,
			teacher: func(p pairRow) (int, bool) {
				g, ok := q[p.QueryID+"\t"+p.DocID]
				return g, ok
			},
			splits: twoWaySplits(tv, 6, nSplits, 13),
		})
	}
	for _, f := range []struct{ name, path string }{
		{"dev", filepath.Join(dir, "llmjudge", "dev.jsonl")},
		{"dl19", filepath.Join(dir, "trecdl", "dl19.jsonl")},
	} {
		rows := buildPairs(readJSONL(t, f.path))
		nq := len(queryIDs(rows))
		add(expSetting{name: fmt.Sprintf("%s (%d queries), human as teacher, leave 1/5 of the queries out ×10", f.name, nq),
			rows: rows, teacher: human, splits: leaveOut(rows, 5, 10, 7)})
		add(expSetting{name: fmt.Sprintf("%s (%d queries), human as teacher, train on 6 queries ×50", f.name, nq),
			rows: rows, teacher: human, splits: smallTrain(rows, 6, 50, 11)})
		add(expSetting{name: fmt.Sprintf("%s (%d queries), human as teacher, train on 15 queries ×20", f.name, nq),
			rows: rows, teacher: human, splits: smallTrain(rows, 15, 20, 17)})
	}
	return out
}

func TestDistillExperiment(t *testing.T) {
	if os.Getenv("QRELBENCH_EXPERIMENT") == "" {
		t.Skip("set QRELBENCH_EXPERIMENT=1 to run the distillation experiment on every split (benchmark/distill-experiment.sh)")
	}
	settings := experimentSettings(t)
	type variant struct {
		name string
		opt  TrainOptions
	}
	variants := []variant{{"student (lexical prior, the default)", Tuned(0, 3)}}
	if os.Getenv("QRELBENCH_EXPERIMENT_OLD") != "" {
		variants = append(variants, variant{"previous default (ordinal, calibrated)",
			TrainOptions{MinGrade: 0, MaxGrade: 3, L2: 3, Balance: 0.5, Calibrate: true}})
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("| %-72s | %-38s | %6s | %13s | %13s | %15s | %15s | %8s |",
		"split", "student", "splits", "κ lex→stu", "qκ lex→stu", "Δκ mean/worst", "Δqκ mean/worst", "fallback"))
	lines = append(lines, "|"+strings.Repeat("-", 74)+"|"+strings.Repeat("-", 40)+"|"+strings.Repeat("-", 8)+"|"+strings.Repeat("-", 15)+"|"+
		strings.Repeat("-", 15)+"|"+strings.Repeat("-", 17)+"|"+strings.Repeat("-", 17)+"|"+strings.Repeat("-", 10)+"|")
	var failures []string
	for _, s := range settings {
		for vi, v := range variants {
			t0 := time.Now()
			sum := summarise(runSetting(t, s, v.opt))
			lines = append(lines, fmt.Sprintf("| %-72s | %-38s | %6d | %5.3f → %5.3f | %5.3f → %5.3f | %+6.3f / %+6.3f | %+6.3f / %+6.3f | %7.0f%% |",
				s.name, v.name, sum.n, sum.lexK, sum.stuK, sum.lexQ, sum.stuQ, sum.dK, sum.worstK, sum.dQ, sum.worstQ, 100*sum.fallback))
			t.Logf("%s / %s: %d splits in %v; %.0f training pairs on average, %.1f ms of training per 1,000 pairs",
				s.name, v.name, sum.n, time.Since(t0).Round(time.Millisecond), sum.meanTrainPairs, sum.msPer1000)
			if vi == 0 && (sum.dK < 0 || sum.dQ < 0 || sum.worstK < -0.02 || sum.worstQ < -0.02) {
				failures = append(failures, fmt.Sprintf("%s: Δκ %+.3f (worst %+.3f), Δqκ %+.3f (worst %+.3f)", s.name, sum.dK, sum.worstK, sum.dQ, sum.worstQ))
			}
		}
	}
	t.Log("held-out queries, against the human grades; Δ = student - lexical per split; fallback = share of splits where the student grades exactly like lexical\n" +
		strings.Join(lines, "\n"))
	if len(failures) > 0 {
		t.Errorf("the student is below lexical:\n%s", strings.Join(failures, "\n"))
	}
}
