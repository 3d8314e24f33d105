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
	case !an:
		if a.Score > b.Score {
			return -1
		}
		if a.Score < b.Score {
			return 1
		}
	}
	return strings.Compare(b.Doc, a.Doc)
}

// sortTrec sorts ranked in place into trec_eval's order.
func sortTrec(ranked []Scored) { slices.SortFunc(ranked, compareTrec) }

// TopK returns the first k documents of ranked in the order every measure
// here uses (score descending, ties by document id descending), as a new
// slice; ranked is not modified. k larger than the list returns the whole
// list ordered; k <= 0 returns none. Pooling uses it so that it pools
// exactly the documents evaluation looks at.
func TopK(ranked []Scored, k int) []Scored {
	if k <= 0 || len(ranked) == 0 {
		return nil
	}
	out := slices.Clone(ranked)
	sortTrec(out)
	if k < len(out) {
		out = slices.Clip(out[:k])
	}
	return out
}
