package benchmark

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

// This file connects the pure metrics to a workspace: which grades are
// compared, and what runs cost.

// EvalOptions select what `qrelbench eval` compares.
type EvalOptions struct {
	Reference string   // the labeler taken as truth, e.g. human:imported
	Labelers  []string // labelers to score; empty or "all": every other labeler with grades
	Queries   []string // only these query ids (empty: all)
	Threshold int
	Bootstrap int
	Seed      int64
}

// LabelerResult is one labeler's metrics against the reference.
type LabelerResult struct {
	Labeler  string  `json:"labeler"`
	Kind     string  `json:"kind"`
	Coverage float64 `json:"coverage"` // pairs graded by both / pairs graded by the reference
	Result
}

// Evaluation is the output of Evaluate; its JSON is `eval --json`.
type Evaluation struct {
	Reference string          `json:"reference"`
	Threshold int             `json:"threshold"`
	Scale     string          `json:"scale"`
	RefPairs  int             `json:"reference_pairs"`
	Labelers  []LabelerResult `json:"labelers"`
	Skipped   []string        `json:"skipped,omitempty"` // labelers with no overlap, and why
}

// Evaluate scores each labeler against the reference over the pairs both
// graded with status ok.
func Evaluate(ctx context.Context, st *store.Store, opt EvalOptions) (Evaluation, error) {
	scale := st.Scale()
	if opt.Threshold == 0 {
		opt.Threshold = min(2, scale.Max())
	}
	if err := scale.Check(opt.Threshold); err != nil {
		return Evaluation{}, fmt.Errorf("--threshold: %w", err)
	}
	ev := Evaluation{Reference: opt.Reference, Threshold: opt.Threshold, Scale: scale.Name}
	ref, err := st.Labeler(ctx, opt.Reference)
	if err != nil {
		return ev, err
	}
	// The labelers are read with the reference in one scan (a batch at a
	// time, so that "all" of many labelers does not hold every labeler's
	// grades at once); an unknown labeler is reported after a reference
	// without grades, as it always was.
	labelers, selectErr := selectLabelers(ctx, st, opt.Labelers, ref.Name)
	ids := []int64{ref.ID}
	const batch = 3
	first := labelers[:min(batch, len(labelers))]
	if selectErr != nil {
		first = nil
	}
	for _, lab := range first {
		ids = append(ids, lab.ID)
	}
	pairs, read, err := loadPairing(ctx, st, opt.Queries, ids)
	if err != nil {
		return ev, err
	}
	refGrades := read[0]
	if refGrades.n == 0 {
		return ev, fmt.Errorf("reference %q has no grades%s", ref.Name, queryNote(opt.Queries))
	}
	ev.RefPairs = refGrades.n
	if selectErr != nil {
		return ev, selectErr
	}
	copt := Options{MinGrade: scale.Min(), MaxGrade: scale.Max(), Threshold: opt.Threshold, Bootstrap: opt.Bootstrap, Seed: opt.Seed}
	read = read[1:]
	for li, lab := range labelers {
		if len(read) == 0 {
			batchIDs := []int64{}
			for _, l := range labelers[li:min(li+batch, len(labelers))] {
				batchIDs = append(batchIDs, l.ID)
			}
			if read, err = pairs.load(ctx, st, batchIDs); err != nil {
				return ev, err
			}
		}
		got := read[0]
		read[0], read = grades{}, read[1:] // not held past this labeler
		g, err := pairs.grouped(refGrades, got, copt)
		if err != nil {
			return ev, fmt.Errorf("%s: %w", lab.Name, err)
		}
		if len(g.ref) == 0 {
			if len(opt.Labelers) > 0 && opt.Labelers[0] != "all" {
				ev.Skipped = append(ev.Skipped, fmt.Sprintf("%s: no pair graded by both it and %s", lab.Name, ref.Name))
			}
			continue
		}
		thr, err := checkOptions(copt)
		if err != nil {
			return ev, fmt.Errorf("%s: %w", lab.Name, err)
		}
		res, err := computeGrouped(g, copt, thr)
		if err != nil {
			return ev, fmt.Errorf("%s: %w", lab.Name, err)
		}
		ev.Labelers = append(ev.Labelers, LabelerResult{Labeler: lab.Name, Kind: lab.Kind, Coverage: float64(len(g.ref)) / float64(refGrades.n), Result: res})
	}
	if len(ev.Labelers) == 0 {
		return ev, fmt.Errorf("no labeler shares a graded pair with %s%s", ref.Name, queryNote(opt.Queries))
	}
	return ev, nil
}

func queryNote(qs []string) string {
	if len(qs) == 0 {
		return ""
	}
	return " on queries " + strings.Join(qs, ", ")
}

func selectLabelers(ctx context.Context, st *store.Store, names []string, reference string) ([]store.Labeler, error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		all, err := st.Labelers(ctx)
		if err != nil {
			return nil, err
		}
		var out []store.Labeler
		for _, l := range all {
			if l.Name != reference {
				out = append(out, l)
			}
		}
		return out, nil
	}
	var out []store.Labeler
	for _, n := range names {
		l, err := st.Labeler(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Agreement is the pairwise kappa matrix between labelers and the
// reliability of the human annotators as a group.
type Agreement struct {
	Labelers []string     `json:"labelers"`
	Kappa    [][]*float64 `json:"kappa"` // null where undefined or no overlap
	Overlap  [][]int      `json:"overlap"`
	// Humans are the human labelers over which HumanAlpha is computed.
	Humans          []string `json:"humans"`
	HumanAlpha      *float64 `json:"human_alpha_ordinal"` // null with fewer than 2 humans sharing pairs
	HumanAlphaUnits int      `json:"human_alpha_units"`
}

// ComputeAgreement compares every labeler with every other (humans
// included) and computes Krippendorff's ordinal alpha over all human
// annotators with missing data allowed.
func ComputeAgreement(ctx context.Context, st *store.Store) (Agreement, error) {
	scale := st.Scale()
	labelers, err := st.Labelers(ctx)
	if err != nil {
		return Agreement{}, err
	}
	grades := map[string]map[string]int{}
	var humans []string
	for _, l := range labelers {
		gs, err := st.Grades(ctx, l.ID)
		if err != nil {
			return Agreement{}, err
		}
		if len(gs) == 0 {
			continue
		}
		m := make(map[string]int, len(gs))
		for _, g := range gs {
			m[g.Query+"\x00"+g.Doc] = g.Grade
		}
		grades[l.Name] = m
		if l.Kind == store.KindHuman {
			humans = append(humans, l.Name)
		}
	}
	names, kappa, n := AgreementMatrix(grades, scale.Min(), scale.Max())
	a := Agreement{Labelers: names, Overlap: n, Humans: humans}
	for _, row := range kappa {
		var out []*float64
		for _, k := range row {
			out = append(out, finite(k))
		}
		a.Kappa = append(a.Kappa, out)
	}
	if len(humans) >= 2 {
		units := map[string][]float64{}
		for i, h := range humans {
			for key, g := range grades[h] {
				row, ok := units[key]
				if !ok {
					row = make([]float64, len(humans))
					for j := range row {
						row[j] = math.NaN()
					}
					units[key] = row
				}
				row[i] = float64(g)
			}
		}
		var data [][]float64
		for _, row := range units {
			graded := 0
			for _, v := range row {
				if !math.IsNaN(v) {
					graded++
				}
			}
			if graded >= 2 {
				data = append(data, row)
			}
		}
		a.HumanAlphaUnits = len(data)
		if v, ok := KrippendorffAlpha(data, Ordinal); ok {
			a.HumanAlpha = finite(v)
		}
	}
	return a, nil
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// CostRow is one labeler's measured throughput and cost from its runs.
type CostRow struct {
	Labeler        string   `json:"labeler"`
	Kind           string   `json:"kind"`
	Role           string   `json:"role,omitempty"`
	Pairs          int      `json:"pairs"`
	Seconds        float64  `json:"seconds"`
	PairsPerSecond *float64 `json:"pairs_per_second"`
	TokensInPair   float64  `json:"tokens_in_per_pair"`
	TokensOutPair  float64  `json:"tokens_out_per_pair"`
	USDPer1000     float64  `json:"usd_per_1000_pairs"`
	// Estimate is an embedded student's training-time estimate of its
	// agreement with the teacher on new queries (nil for other labelers).
	Estimate *store.StudentEstimate `json:"estimate,omitempty"`
}

// Comparison is the paper's student-vs-teacher row.
type Comparison struct {
	Student         string   `json:"student"`
	Teacher         string   `json:"teacher"`
	ThroughputRatio *float64 `json:"throughput_ratio"` // student pairs/s ÷ teacher pairs/s
	CostRatio       *float64 `json:"cost_ratio"`       // student USD/1k ÷ teacher USD/1k (null when the teacher is free)
}

// Costs is `eval --cost`.
type Costs struct {
	Rows        []CostRow    `json:"labelers"`
	Comparisons []Comparison `json:"comparisons"`
}

// ComputeCosts aggregates the labeling runs (synchronous and batch) of every
// labeler: pairs per busy second, tokens per pair and USD per 1,000 pairs,
// then compares each student with each teacher (by role).
func ComputeCosts(ctx context.Context, st *store.Store) (Costs, error) {
	var c Costs
	labelers, err := st.Labelers(ctx)
	if err != nil {
		return c, err
	}
	runs, err := st.Runs(ctx, "", 0)
	if err != nil {
		return c, err
	}
	type agg struct {
		done          int
		secs, usd     float64
		tokIn, tokOut int64
	}
	by := map[string]*agg{}
	for _, r := range runs {
		if r.Kind != store.RunLabeling && r.Kind != store.RunBatch || r.Labeler == "" {
			continue
		}
		a := by[r.Labeler]
		if a == nil {
			a = &agg{}
			by[r.Labeler] = a
		}
		a.done += r.Done
		a.secs += r.BusySeconds
		a.usd += r.CostUSD
		a.tokIn += r.TokensIn
		a.tokOut += r.TokensOut
	}
	rows := map[string]CostRow{}
	for _, l := range labelers {
		a := by[l.Name]
		if a == nil || a.done == 0 {
			continue
		}
		row := CostRow{Labeler: l.Name, Kind: l.Kind, Role: l.Role, Pairs: a.done, Seconds: a.secs,
			TokensInPair: float64(a.tokIn) / float64(a.done), TokensOutPair: float64(a.tokOut) / float64(a.done),
			USDPer1000: a.usd / float64(a.done) * 1000, Estimate: l.Config.Estimate}
		if a.secs > 0 {
			row.PairsPerSecond = finite(float64(a.done) / a.secs)
		}
		rows[l.Name] = row
		c.Rows = append(c.Rows, row)
	}
	for _, s := range c.Rows {
		if s.Role != "student" && s.Kind != store.KindStudent {
			continue
		}
		for _, t := range c.Rows {
			if t.Role != "teacher" {
				continue
			}
			cmp := Comparison{Student: s.Labeler, Teacher: t.Labeler}
			if s.PairsPerSecond != nil && t.PairsPerSecond != nil && *t.PairsPerSecond > 0 {
				cmp.ThroughputRatio = finite(*s.PairsPerSecond / *t.PairsPerSecond)
			}
			if t.USDPer1000 > 0 {
				cmp.CostRatio = finite(s.USDPer1000 / t.USDPer1000)
			}
			c.Comparisons = append(c.Comparisons, cmp)
		}
	}
	return c, nil
}
