package syseval

import (
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark/stat"
)

// noisyModel derives a model's grades from the human ones, deterministically
// (a hash of the pair): an over-generous judge, one grade up for 30% of the
// pairs and one down for 15%, within 0–3. Its metrics are biased upward,
// the situation prediction-powered inference is for.
func noisyModel(human Qrels) Qrels {
	model := Qrels{}
	for q, docs := range human {
		model[q] = map[string]int{}
		for d, g := range docs {
			h := fnv.New64a()
			h.Write([]byte(q + "\x00" + d))
			u := float64(h.Sum64()>>11) / (1 << 53)
			switch {
			case u < 0.30:
				g++
			case u < 0.45:
				g--
			}
			model[q][d] = min(3, max(0, g))
		}
	}
	return model
}

// mergeSets joins judged sets with distinct query ids: qrels side by side,
// each system's queries together.
func mergeSets(sets []sharedSet) ([]Run, Qrels) {
	q := Qrels{}
	bySystem := map[string]*Run{}
	var names []string
	for _, s := range sets {
		maps.Copy(q, s.grades)
		for _, r := range s.runs {
			if bySystem[r.System] == nil {
				bySystem[r.System] = &Run{System: r.System, Ranked: map[string][]Scored{}}
				names = append(names, r.System)
			}
			maps.Copy(bySystem[r.System].Ranked, r.Ranked)
		}
	}
	runs := make([]Run, len(names))
	for i, n := range names {
		runs[i] = *bySystem[n]
	}
	return runs, q
}

// TestPPICoverageBySimulation checks that the 95% PPI interval covers the
// mean under all human grades (the "full-human value") of dl19 + dev (68
// queries, 9 systems, nDCG@10) at about its nominal rate, with the
// deterministic noisyModel as the model.
//
// Design. PPI's interval is for a mean over a population from which H
// (n queries, both grades) and U (N queries, model grades only) are
// independent samples. The 68 queries are that population: each
// repetition draws H (n = 20) and U (N = 48) from them with replacement.
// (Splitting the 68 into H and its complement instead makes U∪H the whole
// population, so var_U/N counts uncertainty that is not there: the
// interval over-covers; that case is checked to be conservative below.)
//
// Tolerance. Each system gets R = 2000 independent repetitions, so its
// coverage count is binomial: at a true 0.95 it lies within ±4 sd
// (±0.0195) with probability 1 − 6e-5. The interval is a large-sample
// normal one and n = 20 is small (a z interval on n = 20 normal values
// covers about 0.94), so each system's rate must lie in [0.915, 0.975]
// and the pooled rate in [0.93, 0.965]. That fails if the bias correction
// is dropped (the uncorrected model covers well under half the time here)
// or the variance loses either term.
func TestPPICoverageBySimulation(t *testing.T) {
	dir := dataDir(t)
	var sets []sharedSet
	for _, s := range sharedSets[1:] { // dev and dl19
		sets = append(sets, loadShared(t, dir, s.name, s.jsonl))
	}
	runs, human := mergeSets(sets)
	o := DefaultOptions()
	const measure = "ndcg_cut_10"
	full, err := Evaluate(runs, human, o)
	if err != nil {
		t.Fatal(err)
	}
	model, err := Evaluate(runs, noisyModel(human), o)
	if err != nil {
		t.Fatal(err)
	}
	qids := slices.Sorted(maps.Keys(human))
	if len(qids) != 68 {
		t.Fatalf("%d queries, want 68", len(qids))
	}
	const (
		n, N = 20, 48
		reps = 2000
	)
	// Per-query values by system and query index, read once.
	modelVals, humanVals := make([][]float64, len(runs)), make([][]float64, len(runs))
	for s := range runs {
		for _, q := range qids {
			modelVals[s] = append(modelVals[s], model[s].PerQuery[q][measure])
			humanVals[s] = append(humanVals[s], full[s].PerQuery[q][measure])
		}
	}
	type tally struct{ ppi, human, split, naive int }
	counts := make([]tally, len(runs))
	var widthPPI, widthHuman float64
	rng := rand.New(rand.NewPCG(2024, 10))
	for range reps {
		h, u := make([]int, n), make([]int, N)
		for i := range h {
			h[i] = rng.IntN(len(qids))
		}
		for i := range u {
			u[i] = rng.IntN(len(qids))
		}
		split := rng.Perm(len(qids))
		for s := range runs {
			truth := full[s].Mean[measure]
			m := func(k int) float64 { return modelVals[s][k] }
			hu := func(k int) float64 { return humanVals[s][k] }
			p := ppiOf(t, u, h, m, hu)
			if covers(p.CI, truth) {
				counts[s].ppi++
			}
			if covers(p.HumanOnly.CI, truth) {
				counts[s].human++
			}
			widthPPI += p.CI[1] - p.CI[0]
			widthHuman += p.HumanOnly.CI[1] - p.HumanOnly.CI[0]
			if covers(ppiOf(t, split[n:], split[:n], m, hu).CI, truth) {
				counts[s].split++
			}
			// The model alone, uncorrected, with its own normal interval.
			mu, vu := stat.MeanVar(mapIdx(u, m))
			if half := stat.Z975 * math.Sqrt(vu/N); covers([2]float64{mu - half, mu + half}, truth) {
				counts[s].naive++
			}
		}
	}
	var sum tally
	for s, c := range counts {
		rate := float64(c.ppi) / reps
		t.Logf("%-8s truth %.4f model %.4f  coverage: PPI %.3f human-only %.3f split %.3f uncorrected %.3f",
			runs[s].System, full[s].Mean[measure], model[s].Mean[measure], rate,
			float64(c.human)/reps, float64(c.split)/reps, float64(c.naive)/reps)
		if rate < 0.915 || rate > 0.975 {
			t.Errorf("%s: PPI coverage %.3f outside [0.915, 0.975]", runs[s].System, rate)
		}
		sum.ppi, sum.human, sum.split, sum.naive = sum.ppi+c.ppi, sum.human+c.human, sum.split+c.split, sum.naive+c.naive
	}
	k := float64(reps * len(runs))
	pooled := float64(sum.ppi) / k
	t.Logf("pooled coverage: PPI %.4f, human-only %.4f, split %.4f, uncorrected model %.4f; mean width PPI %.4f, human-only %.4f",
		pooled, float64(sum.human)/k, float64(sum.split)/k, float64(sum.naive)/k, widthPPI/k, widthHuman/k)
	if pooled < 0.93 || pooled > 0.965 {
		t.Errorf("pooled PPI coverage %.4f outside [0.93, 0.965]", pooled)
	}
	if split := float64(sum.split) / k; split < 0.93 {
		t.Errorf("split design: coverage %.4f, want conservative (>= 0.93)", split)
	}
	if widthPPI >= widthHuman {
		t.Errorf("PPI interval (mean width %.4f) not narrower than the human-only one (%.4f)", widthPPI/k, widthHuman/k)
	}
}

func covers(ci [2]float64, v float64) bool { return ci[0] <= v && v <= ci[1] }

func mapIdx(idx []int, f func(int) float64) []float64 {
	out := make([]float64, len(idx))
	for i, k := range idx {
		out[i] = f(k)
	}
	return out
}

func ppiOf(t *testing.T, u, h []int, model, human func(int) float64) PPI {
	t.Helper()
	p, err := PPIMean(mapIdx(u, model), mapIdx(h, model), mapIdx(h, human))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
