package syseval

import (
	"hash/maphash"
	"math"
)

// Relevance values of retrieved documents that have no usable grade, as
// trec_eval's form_res_rels assigns them.
const (
	relNonPool   = -1 // no qrels entry
	relUnjudged  = -2 // a negative grade in the qrels: pooled, not judged
	p10Cutoff    = 10
	recallCutoff = 100
	unjudgedTop  = 10
)

// judgedQuery is what every system's score of one query needs from its
// qrels, computed once.
type judgedQuery struct {
	grades gradeTable
	numRel int       // qrels at or above the threshold, retrieved or not
	ideal  []float64 // ideal DCG at each cutoff of the plan
}

func newJudgedQuery(grades map[string]int, p *plan, seed maphash.Seed) judgedQuery {
	j := judgedQuery{grades: newGradeTable(grades, seed), ideal: make([]float64, len(p.cuts))}
	var pos []int
	for _, g := range grades {
		if g >= p.threshold { // the threshold is >= 0: negative grades never count
			j.numRel++
		}
		if g > 0 {
			pos = append(pos, g)
		}
	}
	// The ideal ranking: every positive judged grade, highest first.
	sortDesc(pos)
	j.ideal = dcgAtCuts(len(pos), func(i int) int { return pos[i] }, p.cuts, j.ideal)
	return j
}

func sortDesc(a []int) {
	for i := 1; i < len(a); i++ { // insertion sort: few distinct grades, short lists
		for k := i; k > 0 && a[k] > a[k-1]; k-- {
			a[k], a[k-1] = a[k-1], a[k]
		}
	}
}

// dcgAtCuts fills out[c] with the DCG of the first cuts[c] of n gains
// (fewer when the list is shorter); gains <= 0 add nothing.
func dcgAtCuts(n int, gain func(int) int, cuts []int, out []float64) []float64 {
	sum, c := 0.0, 0
	for i := 0; i < n && c < len(cuts); i++ {
		for c < len(cuts) && i == cuts[c] {
			out[c] = sum
			c++
		}
		if c == len(cuts) {
			break
		}
		if g := gain(i); g > 0 {
			sum += float64(g) / math.Log2(float64(i+2))
		}
	}
	for ; c < len(cuts); c++ {
		out[c] = sum
	}
	return out
}

// relOf returns the trec_eval relevance value of doc (hash h) under j.
func (j *judgedQuery) relOf(doc string, h uint64) int {
	g, ok := j.grades.lookup(doc, h)
	switch {
	case !ok:
		return relNonPool
	case g < 0:
		return relUnjudged
	}
	return g
}

// scoreQuery writes the per-query values of the plan's measures into out
// (layout: the nDCG cuts, then the off* measures) from rels, the relevance
// values of the retrieved documents in trec_eval order.
func scoreQuery(rels []int, j *judgedQuery, p *plan, out []float64) {
	nc := len(p.cuts)
	dcgAtCuts(len(rels), func(i int) int { return rels[i] }, p.cuts, out[:nc])
	for c := range nc {
		// An ideal DCG of 0 leaves the DCG unnormalised, as trec_eval;
		// it is 0 then too, as no retrieved document has a positive grade.
		if j.ideal[c] > 0 {
			out[c] /= j.ideal[c]
		}
	}
	var relSoFar, relAt10, relAt100, firstRel, unjudged int
	var apSum float64
	for i, r := range rels {
		if i < unjudgedTop && r < 0 {
			unjudged++
		}
		if r < p.threshold {
			continue
		}
		relSoFar++
		apSum += float64(relSoFar) / float64(i+1)
		if firstRel == 0 {
			firstRel = i + 1
		}
		if i < p10Cutoff {
			relAt10++
		}
		if i < recallCutoff {
			relAt100++
		}
	}
	v := out[nc:]
	v[offP10] = float64(relAt10) / p10Cutoff
	v[offMAP], v[offRecall100], v[offRecipRank], v[offUnjudged10] = 0, 0, 0, 0
	if j.numRel > 0 {
		v[offRecall100] = float64(relAt100) / float64(j.numRel)
		if relSoFar > 0 {
			v[offMAP] = apSum / float64(j.numRel)
		}
	}
	if firstRel > 0 {
		v[offRecipRank] = 1 / float64(firstRel)
	}
	if top := min(len(rels), unjudgedTop); top > 0 {
		v[offUnjudged10] = float64(unjudged) / float64(top)
	}
}
