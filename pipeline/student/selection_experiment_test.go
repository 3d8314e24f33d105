package student

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/selection"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestSelectionExperiment compares, at equal teacher budgets, the ways of
// choosing which pairs the teacher grades (`label --select`): a pool of
// training queries, a budget of 200, 500 or 1,000 pairs chosen from it,
// the student retrained on the teacher's grades of those, and its kappa
// against the human grades of held-out queries. The human grades stand in
// for the teacher (dev and dl19 have no LLM judge runs; test-visible's 13
// queries are too few for a student to depart from lexical). Strategies:
// random, diverse, student-uncertain (the untrained student: lexical's
// probabilities) and student-uncertain in two rounds (half the budget
// diverse, retrain, the other half the new student's most uncertain).
// 5 seeded query splits (70% pool, 30% held out) × 3 selection seeds.
// Only with QRELBENCH_EXPERIMENT=1 (and QRELBENCH_EXPERIMENT_ONLY unset or
// "selection"); it only logs the table.
func TestSelectionExperiment(t *testing.T) {
	if os.Getenv("QRELBENCH_EXPERIMENT") == "" {
		t.Skip("set QRELBENCH_EXPERIMENT=1 to run the selection experiment (benchmark/distill-experiment.sh)")
	}
	if o := os.Getenv("QRELBENCH_EXPERIMENT_ONLY"); o != "" && o != "selection" {
		t.Skip("QRELBENCH_EXPERIMENT_ONLY excludes it")
	}
	dir := storetest.DataDir(t)
	type job struct {
		data, strategy string
		split, seed, n int
		pool, held     []int
		rows           []pairRow
		stuK, stuQ     float64
		lexK, lexQ     float64
		queries        int
		fallback       bool
	}
	strategies := []string{selection.Random, selection.Diverse, selection.StudentUncertain, "student-uncertain, 2 rounds"}
	budgets := []int{200, 500, 1000}
	var jobs []*job
	for _, f := range []struct{ name, path string }{
		{"dev", filepath.Join(dir, "llmjudge", "dev.jsonl")},
		{"dl19", filepath.Join(dir, "trecdl", "dl19.jsonl")},
	} {
		rows := buildPairs(readJSONL(t, f.path))
		for split := range 5 {
			perm := shuffled(rows, 21, uint64(split))
			inPool := map[string]bool{}
			for _, id := range perm[:len(perm)*7/10] {
				inPool[id] = true
			}
			var pool, held []int
			for i, row := range rows {
				if inPool[row.QueryID] {
					pool = append(pool, i)
				} else {
					held = append(held, i)
				}
			}
			for seed := range 3 {
				for _, n := range budgets {
					for _, s := range strategies {
						jobs = append(jobs, &job{data: f.name, strategy: s, split: split, seed: seed + 1, n: n, pool: pool, held: held, rows: rows})
					}
				}
			}
		}
	}
	lex := Lexical(0, 3)
	candidates := func(j *job, m *Model, skip map[int64]bool) []selection.Candidate {
		var c []selection.Candidate
		for _, i := range j.pool {
			if skip[int64(i)] {
				continue
			}
			g, _, p := m.Predict(j.rows[i].x, nil)
			c = append(c, selection.Candidate{PairID: int64(i), Query: j.rows[i].QueryID, Probs: p, Grade: g})
		}
		return c
	}
	train := func(j *job, chosen []int64) *Model {
		var ex []Example
		for _, id := range chosen {
			p := j.rows[id]
			ex = append(ex, Example{X: p.x, Grade: p.Human, Query: p.QueryID})
		}
		m, err := Train(ex, Tuned(0, 3))
		if err != nil {
			t.Error(err)
			return lex
		}
		return m
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				var chosen []int64
				var err error
				switch j.strategy {
				case "student-uncertain, 2 rounds":
					first, _ := selection.Select(candidates(j, lex, nil), j.n/2, selection.Diverse, int64(j.seed))
					m := train(j, first)
					skip := map[int64]bool{}
					for _, id := range first {
						skip[id] = true
					}
					second, e := selection.Select(candidates(j, m, skip), j.n-len(first), selection.StudentUncertain, int64(j.seed))
					chosen, err = append(first, second...), e
				default:
					chosen, err = selection.Select(candidates(j, lex, nil), j.n, j.strategy, int64(j.seed))
				}
				if err != nil {
					t.Error(err)
					continue
				}
				qs := map[string]bool{}
				for _, id := range chosen {
					qs[j.rows[id].QueryID] = true
				}
				j.queries = len(qs)
				m := train(j, chosen)
				j.fallback = m.Summary.LexicalFallback
				test := make([]pairRow, len(j.held))
				for k, i := range j.held {
					test[k] = j.rows[i]
				}
				j.stuK, j.stuQ, _ = agreement(test, func(p pairRow) (int, bool) { g, _, _ := m.Predict(p.x, nil); return g, true })
				j.lexK, j.lexQ, _ = agreement(test, lexicalGrade)
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()

	type key struct {
		data, strategy string
		n              int
	}
	type agg struct {
		k, q, lk, lq, queries, fallback float64
		runs                            int
	}
	sums := map[key]*agg{}
	for _, j := range jobs {
		k := key{j.data, j.strategy, j.n}
		a := sums[k]
		if a == nil {
			a = &agg{}
			sums[k] = a
		}
		a.k += j.stuK
		a.q += j.stuQ
		a.lk += j.lexK
		a.lq += j.lexQ
		a.queries += float64(j.queries)
		if j.fallback {
			a.fallback++
		}
		a.runs++
	}
	lines := []string{fmt.Sprintf("| %-5s | %-6s | %-28s | %11s | %11s | %8s | %8s |", "data", "budget", "selection", "student κ", "student qκ", "queries", "fallback"),
		"|-------|--------|------------------------------|-------------|-------------|----------|----------|"}
	for _, data := range []string{"dev", "dl19"} {
		for _, n := range budgets {
			for _, s := range strategies {
				a := sums[key{data, s, n}]
				r := float64(a.runs)
				lines = append(lines, fmt.Sprintf("| %-5s | %6d | %-28s | %11.3f | %11.3f | %8.1f | %7.0f%% |", data, n, s, a.k/r, a.q/r, a.queries/r, 100*a.fallback/r))
			}
			a := sums[key{data, selection.Random, n}]
			r := float64(a.runs)
			lines = append(lines, fmt.Sprintf("| %-5s | %6d | %-28s | %11.3f | %11.3f | %8s | %8s |", data, n, "(lexical, for reference)", a.lk/r, a.lq/r, "", ""))
		}
	}
	t.Log("student retrained on the chosen pairs, against the human grades of the held-out queries; means over 5 query splits × 3 seeds; " +
		"queries = distinct queries among the chosen pairs; fallback = share of runs where the student stayed lexical\n" + strings.Join(lines, "\n"))
}
