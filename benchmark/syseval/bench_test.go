package syseval

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/qrelbench/qrelbench/internal/cputime"
)

// synthetic is a generated evaluation: systems × queries × depth ranked
// documents drawn from a per-query pool of twice the depth, of which
// judged documents have grades 0–3 under two different sets of qrels.
type synthetic struct {
	runs  []Run
	qrels [2]Qrels
}

var (
	synthOnce sync.Once
	synthData *synthetic
)

// bigSynthetic is built once per test binary (never mutated): 100 systems,
// 1,000 queries, 100 documents each; scores rounded to 2 decimals so that
// ties, and the docid tie-break, are common.
func bigSynthetic() *synthetic {
	synthOnce.Do(func() { synthData = newSynthetic(100, 1000, 100, 1) })
	return synthData
}

func newSynthetic(systems, queries, depth int, seed uint64) *synthetic {
	rng := rand.New(rand.NewPCG(seed, 99))
	s := &synthetic{qrels: [2]Qrels{{}, {}}}
	pools := make([][]string, queries)
	qids := make([]string, queries)
	for q := range queries {
		qids[q] = "q" + strconv.Itoa(q)
		pools[q] = make([]string, 2*depth)
		for i := range pools[q] {
			pools[q][i] = "d" + strconv.Itoa(q*10000+i)
		}
		for k := range s.qrels {
			g := map[string]int{}
			for i, d := range pools[q] {
				if i%3 != 2 { // two thirds judged
					g[d] = rng.IntN(4)
				}
			}
			s.qrels[k][qids[q]] = g
		}
	}
	for sys := range systems {
		r := Run{System: "sys" + strconv.Itoa(sys), Ranked: make(map[string][]Scored, queries)}
		for q := range queries {
			perm := rng.Perm(len(pools[q]))[:depth]
			ranked := make([]Scored, depth)
			for i, p := range perm {
				ranked[i] = Scored{Doc: pools[q][p], Score: float64(rng.IntN(100)) / 100}
			}
			r.Ranked[qids[q]] = ranked
		}
		s.runs = append(s.runs, r)
	}
	return s
}

// BenchmarkEvaluate100x1000x100 scores 100 systems × 1,000 queries × 100
// documents (10M ranked documents) under each of two sets of qrels per
// operation (so no run reuses what the previous one prepared for the same
// qrels, and the figure does not depend on b.N): the whole Evaluate path
// (qrels preparation, sorting, measures, per-query maps and means).
// Target: under 2 s per evaluation (s/evaluation) on 2 cores.
func BenchmarkEvaluate100x1000x100(b *testing.B) {
	d := bigSynthetic()
	o := DefaultOptions()
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		for _, q := range d.qrels {
			res, err := Evaluate(d.runs, q, o)
			if err != nil || len(res) != 100 || res[99].Queries != 1000 {
				b.Fatalf("%v %d", err, len(res))
			}
		}
	}
	cputime.Report(b, cpu)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*len(d.qrels)), "s/evaluation")
}

// BenchmarkTopKPool takes the top 20 of 100 systems × 1,000 queries, as
// pooling at depth 20 does.
func BenchmarkTopKPool(b *testing.B) {
	d := bigSynthetic()
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		n := 0
		for _, r := range d.runs {
			for _, ranked := range r.Ranked {
				n += len(TopK(ranked, 20))
			}
		}
		if n != 100*1000*20 {
			b.Fatal(n)
		}
	}
	cputime.Report(b, cpu)
}

// BenchmarkComparePairs tests the 36 pairs of 9 systems over 100 queries
// with the default 10,000 permutations and 10,000 resamples.
func BenchmarkComparePairs(b *testing.B) {
	d := newSynthetic(9, 100, 100, 3)
	res, err := Evaluate(d.runs, d.qrels[0], DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; b.Loop(); i++ {
		pt, err := ComparePairs(res, "ndcg_cut_10", PairOptions{Seed: uint64(i)})
		if err != nil || len(pt) != 36 {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu)
}
