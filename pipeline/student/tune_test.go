package student

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestTuneOnDev compares model settings by two-fold query-split
// cross-validation on llmjudge/dev.jsonl, with the human grades standing in
// for the teacher (there is no teacher run on the dev queries). It only
// logs; run it with QRELBENCH_TUNE=1. realOptions come from it.
func TestTuneOnDev(t *testing.T) {
	if os.Getenv("QRELBENCH_TUNE") == "" {
		t.Skip("set QRELBENCH_TUNE=1 to run the dev-set tuning report")
	}
	dir := storetest.DataDir(t)
	prs := buildPairs(readJSONL(t, filepath.Join(dir, "llmjudge", "dev.jsonl")))
	a, b := splitQueries(prs)
	folds := [][2][]pairRow{{a, b}, {b, a}}
	lk1, _ := lexicalKappa(a)
	lk2, _ := lexicalKappa(b)
	bk1, _ := bm25Kappa(a)
	bk2, _ := bm25Kappa(b)
	t.Logf("lexical:   mean %.3f  folds %.3f / %.3f", (lk1+lk2)/2, lk2, lk1)
	t.Logf("bm25-rank: mean %.3f  folds %.3f / %.3f", (bk1+bk2)/2, bk2, bk1)
	run := func(name string, perPair bool, opt TrainOptions) {
		var ks []string
		mean := 0.0
		for _, fold := range folds {
			tr, te := fold[0], fold[1]
			if perPair {
				tr, te = perPairRows(tr), perPairRows(te)
			}
			m, err := Train(examples(tr, human), opt)
			if err != nil {
				t.Fatal(err)
			}
			k, hist := studentKappa(t, m, te)
			mean += k / 2
			ks = append(ks, fmt.Sprintf("%.3f %v", k, hist))
		}
		t.Logf("%-55s mean %.3f  folds %s", name, mean, strings.Join(ks, " | "))
	}
	for _, perPair := range []bool{true, false} {
		for _, l2 := range []float64{1e-2, 1e-1, 1} {
			for _, bal := range []float64{0, 0.5, 1} {
				for _, cal := range []bool{false, true} {
					opt := TrainOptions{MinGrade: 0, MaxGrade: 3, L2: l2, Balance: bal, Calibrate: cal}
					run(fmt.Sprintf("ordinal per-pair=%v l2=%g bal=%g cal=%v", perPair, l2, bal, cal), perPair, opt)
				}
			}
		}
	}
	for _, perPair := range []bool{true, false} {
		for _, trees := range []int{100, 200, 300, 500} {
			for _, depth := range []int{2, 3} {
				for _, leaf := range []int{20, 60} {
					opt := TrainOptions{MinGrade: 0, MaxGrade: 3, Method: MethodGBT, Trees: trees, Depth: depth,
						MinLeaf: leaf, Shrinkage: 0.05, Subsample: 1, Calibrate: true}
					run(fmt.Sprintf("gbt per-pair=%v trees=%d depth=%d leaf=%d", perPair, trees, depth, leaf), perPair, opt)
				}
			}
		}
	}
	for _, bal := range []float64{0.5, 1} {
		opt := realOptions
		opt.Balance = bal
		run(fmt.Sprintf("realOptions balance=%g", bal), false, opt)
	}
	for _, cal := range []bool{false} {
		opt := realOptions
		opt.Calibrate = cal
		run(fmt.Sprintf("realOptions calibrate=%v", cal), false, opt)
	}
	run("realOptions", false, realOptions)
}

// perPairRows swaps the group vectors for the per-pair ones.
func perPairRows(prs []pairRow) []pairRow {
	out := make([]pairRow, len(prs))
	for i, p := range prs {
		out[i] = p
		out[i].x = p.xp
	}
	return out
}

// maskRows zeroes the named features (so no model can use them).
func maskRows(prs []pairRow, drop map[string]bool) []pairRow {
	var cols []int
	for j, n := range features.GroupNames() {
		if drop[n] {
			cols = append(cols, j)
		}
	}
	out := make([]pairRow, len(prs))
	for i, p := range prs {
		out[i] = p
		out[i].x = append([]float64(nil), p.x...)
		for _, j := range cols {
			out[i].x[j] = 0
		}
	}
	return out
}

// TestTuneSmallOnDev: like TestTuneOnDev, but each model is trained on a
// quarter of dev's queries (about as many as a teacher run on half of
// test-visible covers) and tested on the other three quarters.
func TestTuneSmallOnDev(t *testing.T) {
	if os.Getenv("QRELBENCH_TUNE") == "" {
		t.Skip("set QRELBENCH_TUNE=1 to run the dev-set tuning report")
	}
	dir := storetest.DataDir(t)
	prs := buildPairs(readJSONL(t, filepath.Join(dir, "llmjudge", "dev.jsonl")))
	var ids []string
	seen := map[string]bool{}
	for _, p := range prs {
		if !seen[p.QueryID] {
			seen[p.QueryID] = true
			ids = append(ids, p.QueryID)
		}
	}
	sort.Strings(ids)
	fold := map[string]int{}
	for i, id := range ids {
		fold[id] = i % 4
	}
	parts := make([][]pairRow, 4)
	rest := make([][]pairRow, 4)
	for _, p := range prs {
		for f := 0; f < 4; f++ {
			if fold[p.QueryID] == f {
				parts[f] = append(parts[f], p)
			} else {
				rest[f] = append(rest[f], p)
			}
		}
	}
	base := func(name string, g func(pairRow) (int, bool)) {
		mean := 0.0
		for f := 0; f < 4; f++ {
			k, _, _ := agreement(rest[f], g)
			mean += k / 4
		}
		t.Logf("%-60s mean %.3f", name, mean)
	}
	base("lexical", lexicalGrade)
	base("bm25-rank", bm25RankGrade)
	groupLevel := map[string]bool{"group_log_size": true, "group_mean_cov_all": true, "group_mean_cov": true, "group_log_bm25_max": true}
	absBM25 := map[string]bool{"bm25": true, "bm25_log1p": true, "bm25_rel_mean": true}
	both := map[string]bool{}
	for k := range groupLevel {
		both[k] = true
	}
	for k := range absBM25 {
		both[k] = true
	}
	run := func(name string, drop map[string]bool, perPair bool, opt TrainOptions) {
		mean := 0.0
		var ks []string
		for f := 0; f < 4; f++ {
			tr, te := maskRows(parts[f], drop), maskRows(rest[f], drop)
			if perPair {
				tr, te = perPairRows(tr), perPairRows(te)
			}
			m, err := Train(examples(tr, human), opt)
			if err != nil {
				t.Fatal(err)
			}
			k, _ := studentKappa(t, m, te)
			mean += k / 4
			ks = append(ks, fmt.Sprintf("%.3f", k))
		}
		t.Logf("%-60s mean %.3f  folds %s", name, mean, strings.Join(ks, " "))
	}
	ord := realOptions
	if os.Getenv("QRELBENCH_TUNE") == "ablate" {
		for _, d := range []struct {
			name string
			m    map[string]bool
		}{{"all", nil}, {"-grouplevel", groupLevel}, {"-absbm25", absBM25}, {"-both", both}} {
			run("gbt "+d.name, d.m, false, realOptions)
			run("ordinal cal "+d.name, d.m, false, ord)
		}
	}
	for _, l2 := range []float64{0.1, 1, 3, 10, 30, 100} {
		for _, bal := range []float64{0, 0.5, 1} {
			o := ord
			o.L2, o.Balance = l2, bal
			run(fmt.Sprintf("ordinal cal l2=%g bal=%g", l2, bal), nil, false, o)
		}
	}
	for _, depth := range []int{1, 2} {
		for _, trees := range []int{100, 300} {
			o := realOptions
			o.Depth, o.Trees = depth, trees
			run(fmt.Sprintf("gbt depth=%d trees=%d", depth, trees), nil, false, o)
		}
	}
	run("ordinal cal per-pair", nil, true, ord)
	run("gbt per-pair", nil, true, realOptions)
}
