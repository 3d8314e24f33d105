package benchmark

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func lg(p int) float64 { return math.Log2(float64(p + 1)) } // discount of 1-based rank p

func TestNDCGByHand(t *testing.T) {
	// No ties: ranking gains 0, 3, 1; ideal 3, 1, 0.
	got, ok := NDCGAt(10, []float64{3, 2, 1}, []float64{0, 3, 1})
	want := (3/lg(2) + 1/lg(3)) / (3 + 1/lg(2))
	if !ok || !near(got, want, 1e-15) {
		t.Errorf("no ties: %v, want %v", got, want)
	}
	// Tie at the top between gains 3 and 0: both positions get 1.5.
	got, ok = NDCGAt(10, []float64{1, 1, 0}, []float64{3, 0, 1})
	want = (1.5*(1+1/lg(2)) + 1/lg(3)) / (3 + 1/lg(2))
	if !ok || !near(got, want, 1e-15) {
		t.Errorf("tie: %v, want %v", got, want)
	}
	// Group straddling the cutoff: k = 2, ranks 2..4 tied with gains 3, 0, 0
	// (average 1); only rank 2 is inside the cutoff.
	got, ok = NDCGAt(2, []float64{5, 1, 1, 1}, []float64{0, 3, 0, 0})
	want = (1 / lg(2)) / 3
	if !ok || !near(got, want, 1e-15) {
		t.Errorf("straddling: %v, want %v", got, want)
	}
	// Cutoff: the relevant document at rank 11 does not count for @10, but
	// the ideal ranking puts it first.
	scores := make([]float64, 11)
	gains := make([]float64, 11)
	for i := range scores {
		scores[i] = float64(100 - i)
	}
	gains[10] = 2
	if got, ok := NDCGAt(10, scores, gains); !ok || got != 0 {
		t.Errorf("beyond cutoff: %v %v", got, ok)
	}
	// Negative gains count 0; no relevant document: undefined.
	if _, ok := NDCGAt(10, []float64{1, 2}, []float64{0, -1}); ok {
		t.Error("all-irrelevant query defined")
	}
	// Gains 0 (from -1) then 2: DCG = 2/log2(3), IDCG = 2.
	if got, ok := NDCGAt(10, []float64{2, 1}, []float64{-1, 2}); !ok || !near(got, 1/lg(2), 1e-15) {
		t.Errorf("negative gain: %v", got)
	}
	if got, ok := NDCGAt(10, []float64{2, 1}, []float64{2, 1}); !ok || got != 1 {
		t.Errorf("perfect: %v", got)
	}
}

// naiveTieNDCG averages the plain NDCG over every ordering of the tied
// documents — the definition that McSherry & Najork's formula computes in
// closed form.
func naiveTieNDCG(k int, scores, gains []float64) float64 {
	n := len(scores)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	ideal := slices.Clone(gains)
	sort.Sort(sort.Reverse(sort.Float64Slice(ideal)))
	var idcg float64
	for p := 0; p < min(k, n); p++ {
		idcg += ideal[p] / lg(p+1)
	}
	var total float64
	var count int
	var rec func(pos int)
	rec = func(pos int) {
		if pos == n {
			var dcg float64
			for p := 0; p < min(k, n); p++ {
				dcg += gains[idx[p]] / lg(p+1)
			}
			total += dcg / idcg
			count++
			return
		}
		// permute within the tie group starting at pos
		end := pos + 1
		for end < n && scores[idx[end]] == scores[idx[pos]] {
			end++
		}
		var perm func(i int)
		perm = func(i int) {
			if i == end {
				rec(end)
				return
			}
			for j := i; j < end; j++ {
				idx[i], idx[j] = idx[j], idx[i]
				perm(i + 1)
				idx[i], idx[j] = idx[j], idx[i]
			}
		}
		perm(pos)
	}
	rec(0)
	return total / float64(count)
}

func TestNDCGTieAwareEqualsExpectation(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(8)
		k := 1 + rng.IntN(6)
		scores := make([]float64, n)
		gains := make([]float64, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(3))
			gains[i] = float64(rng.IntN(4))
		}
		got, ok := NDCGAt(k, scores, gains)
		var sum float64
		for _, g := range gains {
			sum += g
		}
		if sum == 0 {
			if ok {
				t.Fatal("defined without relevant doc")
			}
			continue
		}
		if want := naiveTieNDCG(k, scores, gains); !ok || !near(got, want, 1e-12) {
			t.Fatalf("trial %d k=%d scores %v gains %v: %v, expectation %v", trial, k, scores, gains, got, want)
		}
	}
}

func TestNDCGPermutationInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for trial := 0; trial < 100; trial++ {
		n := 2 + rng.IntN(60)
		scores := make([]float64, n)
		gains := make([]float64, n)
		for i := range scores {
			scores[i] = float64(rng.IntN(5)) / 4
			gains[i] = float64(rng.IntN(4))
		}
		gains[0] = 3
		base, _ := NDCGAt(10, scores, gains)
		perm := rng.Perm(n)
		s2 := make([]float64, n)
		g2 := make([]float64, n)
		for i, p := range perm {
			s2[i], g2[i] = scores[p], gains[p]
		}
		if got, _ := NDCGAt(10, s2, g2); got != base {
			t.Fatalf("trial %d: permuted input gives %v, original %v", trial, got, base)
		}
	}
}

func naivePairwise(scores []float64, refs []int) (half, strict float64, pairs int) {
	var c, ties float64
	for i := range scores {
		for j := range scores {
			if refs[i] <= refs[j] {
				continue
			}
			pairs++
			switch {
			case scores[i] > scores[j]:
				c++
			case scores[i] == scores[j]:
				ties++
			}
		}
	}
	if pairs == 0 {
		return 0, 0, 0
	}
	return (c + ties/2) / float64(pairs), c / float64(pairs), pairs
}

func TestPairwiseAccuracy(t *testing.T) {
	// Pairs with different grades: (a,b) (a,c) (a,d) correct, (b,c) tied,
	// (b,d) correct; (c,d) share grade 0 and do not count.
	half, strict, pairs := PairwiseAccuracy([]float64{3, 2, 2, 1}, []int{2, 1, 0, 0})
	if pairs != 5 || !near(half, 0.9, 1e-15) || !near(strict, 0.8, 1e-15) {
		t.Errorf("hand case: %v %v %v", half, strict, pairs)
	}
	// All scores tied: every pair is half right.
	half, strict, pairs = PairwiseAccuracy([]float64{1, 1, 1}, []int{0, 1, 2})
	if pairs != 3 || half != 0.5 || strict != 0 {
		t.Errorf("all tied: %v %v %v", half, strict, pairs)
	}
	// Reversed ranking.
	half, strict, pairs = PairwiseAccuracy([]float64{1, 2, 3}, []int{3, 2, 1})
	if pairs != 3 || half != 0 || strict != 0 {
		t.Errorf("reversed: %v %v %v", half, strict, pairs)
	}
	// One grade only: no pairs.
	if h, s, p := PairwiseAccuracy([]float64{1, 2}, []int{1, 1}); p != 0 || h != 0 || s != 0 {
		t.Errorf("single grade: %v %v %v", h, s, p)
	}
	rng := rand.New(rand.NewPCG(17, 18))
	for trial := 0; trial < 100; trial++ {
		n := 1 + rng.IntN(200)
		scores := make([]float64, n)
		refs := make([]int, n)
		for i := range scores {
			refs[i] = rng.IntN(4) * 7 // sparse grade values
			scores[i] = float64(rng.IntN(10))
		}
		h, s, p := PairwiseAccuracy(scores, refs)
		wh, ws, wp := naivePairwise(scores, refs)
		if p != wp || !near(h, wh, 1e-12) || !near(s, ws, 1e-12) {
			t.Fatalf("trial %d: %v %v %v, naive %v %v %v", trial, h, s, p, wh, ws, wp)
		}
	}
}

func TestPairwiseLargeQuery(t *testing.T) {
	// O(n log n): 200,000 documents in one query finish instantly.
	rng := rand.New(rand.NewPCG(19, 20))
	n := 200_000
	scores := make([]float64, n)
	refs := make([]int, n)
	for i := range scores {
		refs[i] = rng.IntN(4)
		scores[i] = float64(refs[i]) + rng.NormFloat64()
	}
	if _, _, p := PairwiseAccuracy(scores, refs); p == 0 {
		t.Fatal("no pairs")
	}
}
