package syseval

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestReproducesTrecEval checks every number trec_eval 10.0 printed for the
// shared runs (3 sets x 9 systems x -l 1 and -l 2 x 5 measures, averaged
// and per query) to 1e-4, and that nothing is evaluated that trec_eval did
// not evaluate.
func TestReproducesTrecEval(t *testing.T) {
	dir := dataDir(t)
	checked := 0
	for _, set := range sharedSets {
		s := loadShared(t, dir, set.name, set.jsonl)
		te := readTrecEval(t, filepath.Join(dir, "runs", set.name+".trec_eval.json"))
		want := []string{"ndcg_cut_10", "P_10", "map", "recall_100", "recip_rank"}
		if !slices.Equal(te.Measures, want) {
			t.Fatalf("%s: trec_eval measures %v, want %v", set.name, te.Measures, want)
		}
		if len(te.Levels) != 2 {
			t.Fatalf("%s: %d levels, want 2", set.name, len(te.Levels))
		}
		for level, systems := range te.Levels {
			thr, err := strconv.Atoi(level)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Evaluate(s.runs, s.grades, Options{Threshold: thr})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(systems) || len(res) != 9 {
				t.Fatalf("%s -l %s: %d systems scored, trec_eval has %d", set.name, level, len(res), len(systems))
			}
			for _, r := range res {
				ref, ok := systems[r.System]
				if !ok {
					t.Fatalf("%s -l %s: system %s not in trec_eval output", set.name, level, r.System)
				}
				if r.Queries != len(ref.PerQuery) {
					t.Errorf("%s -l %s %s: %d queries, trec_eval %d", set.name, level, r.System, r.Queries, len(ref.PerQuery))
				}
				for _, m := range te.Measures {
					if got, exp := r.Mean[m], ref.All[m]; !(math.Abs(got-exp) <= 1e-4) {
						t.Errorf("%s -l %s %s %s all: %.6f, trec_eval %.4f", set.name, level, r.System, m, got, exp)
					}
					checked++
					for qid, vals := range ref.PerQuery {
						if got, exp := r.PerQuery[qid][m], vals[m]; r.PerQuery[qid] == nil || !(math.Abs(got-exp) <= 1e-4) {
							t.Errorf("%s -l %s %s %s %s: %.6f, trec_eval %.4f", set.name, level, r.System, m, qid, got, exp)
						}
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d trec_eval numbers reproduced", checked)
}
