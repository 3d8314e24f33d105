package syseval

import (
	"fmt"
	"math"
	"slices"

	"github.com/qrelbench/qrelbench/benchmark/stat"
)

// Interval is an estimate with its 95% interval.
type Interval struct {
	Estimate float64
	CI       [2]float64
}

// PPI is a system's mean metric under human grades estimated by
// prediction-powered inference (Angelopoulos et al., Science 2023; for IR
// evaluation Oosterhuis et al., KDD 2024), beside the estimate from the
// human-graded queries alone.
type PPI struct {
	Interval
	// HumanOnly is the mean over the human-graded queries with its 95%
	// Student t interval (n−1 degrees of freedom: honest for small n).
	HumanOnly Interval
	N         int // queries with model grades only (U)
	n         int
}

// Humans is n: the queries with both human and model grades (H).
func (p PPI) Humans() int { return p.n }

// PPIMean estimates the mean human metric over all queries from the model
// metric on the N model-only queries U (modelU) and both metrics on the n
// queries H graded by both (modelH[i], humanH[i] for the same query):
//
//	estimate = mean_U m(model) + mean_H (m(human) − m(model))
//	variance = var_U(m(model))/N + var_H(m(human) − m(model))/n
//
// with sample variances, and the 95% normal interval estimate ± 1.96·√var.
// The model's bias is measured on H and removed; the interval narrows as
// the model tracks the humans. Needs N >= 2 and n >= 2.
func PPIMean(modelU, modelH, humanH []float64) (PPI, error) {
	if len(modelH) != len(humanH) {
		return PPI{}, fmt.Errorf("syseval: ppi: %d model and %d human values on H", len(modelH), len(humanH))
	}
	if len(modelU) < 2 || len(humanH) < 2 {
		return PPI{}, fmt.Errorf("syseval: ppi: needs 2 queries with model grades only and 2 with both; have %d and %d", len(modelU), len(humanH))
	}
	for _, s := range [][]float64{modelU, modelH, humanH} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return PPI{}, fmt.Errorf("syseval: ppi: value %v", v)
			}
		}
	}
	diff := make([]float64, len(humanH))
	for i := range diff {
		diff[i] = humanH[i] - modelH[i]
	}
	mu, vu := stat.MeanVar(modelU)
	md, vd := stat.MeanVar(diff)
	N, n := float64(len(modelU)), float64(len(humanH))
	p := PPI{N: len(modelU), n: len(humanH)}
	p.Estimate = mu + md
	half := stat.Z975 * math.Sqrt(vu/N+vd/n)
	p.CI = [2]float64{p.Estimate - half, p.Estimate + half}
	mh, vh := stat.MeanVar(humanH)
	hh := stat.StudentTQuantile(0.975, n-1) * math.Sqrt(vh/n)
	p.HumanOnly = Interval{Estimate: mh, CI: [2]float64{mh - hh, mh + hh}}
	return p, nil
}

// PPIForSystem applies PPIMean to one system: model is the system scored
// under the model's qrels over all its queries, human the same system
// scored under the human qrels (on the queries humans graded). H is the
// queries in both, U those only in model; queries only in human are not
// used (the model grades everything in the intended use).
func PPIForSystem(model, human SystemResult, measure string) (PPI, error) {
	if model.System != human.System {
		return PPI{}, fmt.Errorf("syseval: ppi: systems %q and %q differ", model.System, human.System)
	}
	if err := checkMeasure([]SystemResult{model, human}, measure); err != nil {
		return PPI{}, err
	}
	qids := make([]string, 0, len(model.PerQuery))
	for qid := range model.PerQuery {
		qids = append(qids, qid)
	}
	slices.Sort(qids)
	var u, mh, hh []float64
	for _, qid := range qids {
		m := model.PerQuery[qid][measure]
		if h, ok := human.PerQuery[qid]; ok {
			mh, hh = append(mh, m), append(hh, h[measure])
		} else {
			u = append(u, m)
		}
	}
	p, err := PPIMean(u, mh, hh)
	if err != nil {
		return PPI{}, fmt.Errorf("syseval: system %q: %w", model.System, err)
	}
	return p, nil
}
