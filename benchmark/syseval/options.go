package syseval

import (
	"fmt"
	"slices"
	"strconv"
)

// Measure names, as trec_eval (and ir_measures) spell them.
const (
	MeasureP10        = "P_10"
	MeasureMAP        = "map"
	MeasureRecall100  = "recall_100"
	MeasureRecipRank  = "recip_rank"
	MeasureUnjudged10 = "unjudged_at_10"
)

// NDCGCutName is the name of nDCG cut at k: "ndcg_cut_10" for k = 10.
func NDCGCutName(k int) string { return "ndcg_cut_" + strconv.Itoa(k) }

// DefaultNDCGCut is the nDCG cutoff used when Options.NDCGCuts is empty.
const DefaultNDCGCut = 10

// Options says how to score.
type Options struct {
	// Threshold: a grade >= Threshold is relevant for the binary measures
	// (trec_eval -l). It has no zero default on purpose: trec_eval's own
	// default is 1, the workbench's is 2 on the 0–3 scale. Must be >= 0.
	Threshold int
	// NDCGCuts are the ndcg_cut cutoffs; empty means [DefaultNDCGCut].
	// Order and repetitions do not matter; each must be positive.
	NDCGCuts []int
}

// DefaultOptions is the workbench's default: threshold 2, ndcg_cut_10.
func DefaultOptions() Options {
	return Options{Threshold: 2, NDCGCuts: []int{DefaultNDCGCut}}
}

// plan is Options checked and normalised: the cutoffs sorted and unique,
// and the measure names in output order.
type plan struct {
	threshold int
	cuts      []int
	names     []string
}

// layout of a per-query value vector: the nDCG cuts first, then these.
const (
	offP10 = iota
	offMAP
	offRecall100
	offRecipRank
	offUnjudged10
	numFixed
)

func newPlan(o Options) (*plan, error) {
	if o.Threshold < 0 {
		return nil, fmt.Errorf("syseval: threshold %d: must be >= 0", o.Threshold)
	}
	cuts := slices.Clone(o.NDCGCuts)
	if len(cuts) == 0 {
		cuts = []int{DefaultNDCGCut}
	}
	for _, k := range cuts {
		if k <= 0 {
			return nil, fmt.Errorf("syseval: ndcg cutoff %d: must be positive", k)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	p := &plan{threshold: o.Threshold, cuts: cuts}
	for _, k := range cuts {
		p.names = append(p.names, NDCGCutName(k))
	}
	p.names = append(p.names, MeasureP10, MeasureMAP, MeasureRecall100, MeasureRecipRank, MeasureUnjudged10)
	return p, nil
}

// MeasureNames returns the names of the measures Evaluate computes under o,
// in display order: the ndcg_cut cutoffs ascending, then P_10, map,
// recall_100, recip_rank, unjudged_at_10. Invalid options give nil.
func MeasureNames(o Options) []string {
	p, err := newPlan(o)
	if err != nil {
		return nil
	}
	return p.names
}
