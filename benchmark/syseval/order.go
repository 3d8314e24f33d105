package syseval

import (
	"math"
	"slices"
	"strings"
)

// Scored is one retrieved document and the score its system gave it.
type Scored struct {
	Doc   string
	Score float64
}

// compareTrec orders two retrieved documents as trec_eval does: higher
// score first, equal scores by document id descending. NaN, which trec_eval
// cannot order consistently and [Evaluate] refuses, sorts last here so that
// the order stays total.
func compareTrec(a, b Scored) int {
	an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
	switch {
	case an && !bn:
		return 1
	case bn && !an:
		return -1
	case an:
		return strings.Compare(b.Doc, a.Doc)
	}
	return compareFinite(a.Score, a.Doc, b.Score, b.Doc)
}

// compareFinite is trec_eval's order for scores that are not NaN.
func compareFinite(as float64, ad string, bs float64, bd string) int {
	if as != bs {
		if as > bs {
			return -1
		}
		return 1
	}
	return strings.Compare(bd, ad)
}

// sortTrec sorts ranked in place into trec_eval's order.
func sortTrec(ranked []Scored) { slices.SortFunc(ranked, compareTrec) }

// TopK returns the first k documents of ranked in the order every measure
// here uses (score descending, ties by document id descending), as a new
// slice; ranked is not modified. k larger than the list returns the whole
// list ordered; k <= 0 returns none. Pooling uses it so that it pools
// exactly the documents evaluation looks at.
//
// For k well below the list's length it selects with a heap of k (the
// worst kept at the root) and sorts only those: O(n log k), k allocated.
func TopK(ranked []Scored, k int) []Scored {
	if k <= 0 || len(ranked) == 0 {
		return nil
	}
	if 2*k >= len(ranked) {
		out := slices.Clone(ranked)
		sortTrec(out)
		return slices.Clip(out[:min(k, len(out))])
	}
	h := make([]Scored, 0, k)
	for _, d := range ranked {
		switch {
		case len(h) < k:
			h = append(h, d)
			worstUp(h, len(h)-1)
		case compareTrec(d, h[0]) < 0: // d comes before the worst kept
			h[0] = d
			worstDown(h, 0)
		}
	}
	sortTrec(h)
	return h
}

// worstUp and worstDown keep h a heap whose root is the document that comes
// last in trec_eval order.
func worstUp(h []Scored, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if compareTrec(h[i], h[parent]) <= 0 {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func worstDown(h []Scored, i int) {
	for {
		worst, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && compareTrec(h[l], h[worst]) > 0 {
			worst = l
		}
		if r < len(h) && compareTrec(h[r], h[worst]) > 0 {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}
