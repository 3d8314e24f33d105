package benchmark

import (
	"cmp"
	"math"
	"slices"

	"github.com/qrelbench/qrelbench/benchmark/corr"
)

// rankedDoc is one document of one query, for the ranking metrics.
type rankedDoc struct {
	score float64 // labeler's score; NaN already mapped to -Inf
	gain  float64 // NDCG gain (>= 0)
	rank  int32   // reference grade as a dense rank 0..R-1 (pairwise accuracy)
}

// sortRanked orders docs by score descending, ties broken by gain then rank
// descending. The tie-break does not change any metric (they are all
// tie-aware) but makes the floating-point summation order canonical, so
// permuting tied documents gives bit-identical results.
func sortRanked(docs []rankedDoc) {
	slices.SortFunc(docs, func(a, b rankedDoc) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(b.gain, a.gain); c != 0 {
			return c
		}
		return cmp.Compare(b.rank, a.rank)
	})
}

func scoreKey(s float64) float64 {
	if math.IsNaN(s) {
		return math.Inf(-1)
	}
	return s
}

// NDCGAt returns NDCG@k of one query's ranking as trec_eval computes
// ndcg_cut_k, made tie-aware after McSherry & Najork (2008):
//
//   - documents are ranked by scores descending (NaN ranks last);
//   - DCG@k = sum_{p=1}^{min(k,n)} g(p) / log2(p+1);
//   - documents with equal scores form a group, and every position of the
//     group receives the group's average gain; a group straddling the
//     cutoff contributes the average gain at each of its positions up to k.
//     So any order of tied documents gives the same figure;
//   - the ideal DCG@k ranks the gains descending;
//   - gains are used as given (linear gains = reference grades), except that
//     non-positive gains count 0, like trec_eval's handling of grades < 1.
//
// The bool is false when NDCG is undefined: no relevant document (all gains
// 0), k < 1, no documents, different lengths, or a NaN/Inf gain.
func NDCGAt(k int, scores []float64, gains []float64) (float64, bool) {
	if len(scores) != len(gains) || len(scores) == 0 || k < 1 || !corr.AllFinite(gains) {
		return 0, false
	}
	docs := make([]rankedDoc, len(scores))
	for i := range docs {
		docs[i] = rankedDoc{score: scoreKey(scores[i]), gain: math.Max(0, gains[i])}
	}
	sortRanked(docs)
	return ndcgSorted(k, docs)
}

// ndcgSorted computes tie-aware NDCG@k of docs already sorted by sortRanked.
func ndcgSorted(k int, docs []rankedDoc) (float64, bool) {
	n := len(docs)
	cut := min(k, n)
	ideal := make([]float64, n)
	for i, d := range docs {
		ideal[i] = d.gain
	}
	slices.SortFunc(ideal, func(a, b float64) int { return cmp.Compare(b, a) })
	var idcg float64
	for p := 0; p < cut; p++ {
		idcg += ideal[p] / math.Log2(float64(p+2))
	}
	if !(idcg > 0) {
		return 0, false
	}
	var dcg float64
	for i := 0; i < cut; {
		j := i + 1
		sum := docs[i].gain
		for j < n && docs[j].score == docs[i].score {
			sum += docs[j].gain
			j++
		}
		avg := sum / float64(j-i)
		var disc float64
		for p := i; p < min(j, cut); p++ {
			disc += 1 / math.Log2(float64(p+2))
		}
		dcg += avg * disc
		i = j
	}
	return dcg / idcg, true
}

// PairwiseAccuracy compares the ranking by scores with the reference grades
// of one query over every pair of documents whose reference grades differ.
// A pair is correct when the document with the higher grade has the higher
// score; a tie in score counts 1/2 in tieHalf and 0 in strict. pairs is the
// number of such pairs; with pairs == 0 both figures are 0 (undefined).
// NaN scores rank last. O(n log n).
func PairwiseAccuracy(scores []float64, refs []int) (tieHalf, strict float64, pairs int) {
	if len(scores) != len(refs) || len(scores) < 2 {
		return 0, 0, 0
	}
	// Dense ranks of the reference grades.
	distinct := slices.Clone(refs)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	docs := make([]rankedDoc, len(scores))
	for i := range docs {
		r, _ := slices.BinarySearch(distinct, refs[i])
		docs[i] = rankedDoc{score: scoreKey(scores[i]), rank: int32(r)}
	}
	sortRanked(docs)
	conc, ties, p := pairwiseSorted(docs, len(distinct))
	if p == 0 {
		return 0, 0, 0
	}
	return (float64(conc) + float64(ties)/2) / float64(p), float64(conc) / float64(p), int(p)
}

// pairwiseSorted counts, over the pairs of docs with different reference
// ranks, the concordant pairs (higher rank has strictly higher score), the
// pairs tied in score, and all such pairs. docs must be sorted by score
// descending; ranks lie in 0..nranks-1. A Fenwick tree over the ranks of
// the documents with strictly higher scores makes it O(n log R).
func pairwiseSorted(docs []rankedDoc, nranks int) (conc, ties, pairs int64) {
	tree := make([]int64, nranks+1) // Fenwick tree, 1-based
	add := func(r int) {
		for i := r + 1; i <= nranks; i += i & -i {
			tree[i]++
		}
	}
	// atMost returns the number of inserted docs with rank <= r.
	atMost := func(r int) int64 {
		var s int64
		for i := r + 1; i > 0; i -= i & -i {
			s += tree[i]
		}
		return s
	}
	group := make([]int64, nranks) // rank counts inside the current score group
	var seen, disc int64
	n := len(docs)
	for i := 0; i < n; {
		j := i + 1
		for j < n && docs[j].score == docs[i].score {
			j++
		}
		for t := i; t < j; t++ {
			r := int(docs[t].rank)
			// Earlier docs have strictly higher scores.
			higher := seen - atMost(r) // higher score, higher grade: correct
			lower := atMost(r - 1)     // higher score, lower grade: wrong
			conc += higher
			disc += lower
			ties += int64(t-i) - group[r]
			group[r]++
		}
		for t := i; t < j; t++ {
			r := int(docs[t].rank)
			group[r] = 0
			add(r)
		}
		seen += int64(j - i)
		i = j
	}
	return conc, ties, conc + disc + ties
}
