// Package evalruns scores a workspace's search systems with a labeler's
// current grades as qrels (`qrelbench eval runs` and the workbench's
// Systems screen): it reads the ranked lists and grades from the store and
// hands them to syseval, which does every computation.
package evalruns

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/qrelbench/qrelbench/benchmark/syseval"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// FewQueries is the number of queries below which estimates and tests are
// marked unreliable: with fewer, a mean's interval is wide and a test's
// power low (Sakai; Voorhees & Buckley use 25–50 topics).
const FewQueries = 30

// Pair-test selections.
const (
	PairsAll      = "all"      // every pair of systems
	PairsAdjacent = "adjacent" // each system against the next one in the ranking
	PairsNone     = "none"
)

// Options select what to score and how.
type Options struct {
	Qrels     string   // labeler whose grades are the qrels
	Systems   []string // systems to score (empty: all)
	Queries   []string // only these query ids (empty: all)
	Threshold int      // relevant = grade >= Threshold; 0: min(2, the scale's top)
	NDCGCuts  []int    // empty: 10
	Measure   string   // what ranks systems, and what tests, compare and PPI use; "": ndcg_cut_10 (or the first cut)
	Pairs     string   // paired tests: PairsAll (default), PairsAdjacent or PairsNone
	Compare   []string // labelers whose verdict is compared with Qrels'
	// CorrectWith names the human labeler whose grades correct the Qrels
	// labeler's estimates by prediction-powered inference.
	CorrectWith string
	Seed        uint64
	// Permutations and Bootstrap of the paired tests (0: syseval's defaults).
	Permutations, Bootstrap int
}

// System is one system's scores under the qrels.
type System struct {
	syseval.SystemResult
	PPI    *syseval.PPI // with CorrectWith
	PPIErr string       // why PPI is missing, with CorrectWith
}

// Comparison is the verdict of another labeler's qrels against the
// reference's, over the queries both graded.
type Comparison struct {
	Labeler string
	Queries int // queries graded by both
	syseval.Verdict
}

// Report is everything `eval runs` prints.
type Report struct {
	Qrels        string
	Threshold    int
	Scale        string
	Measure      string
	Measures     []string
	QrelsQueries int // queries with at least one grade
	QrelsGrades  int
	Systems      []System // by Measure, best first; ties by name
	Pairs        []syseval.PairTest
	Compare      []Comparison
	CorrectWith  string
	Notes        []string // labelers or systems left out, and why
}

// Unreliable reports whether an estimate over n queries is marked.
func Unreliable(n int) bool { return n < FewQueries }

// Evaluate scores the selected systems under the Qrels labeler's grades,
// then runs what the options ask for: paired tests between systems, the
// verdicts of other labelers, the prediction-powered correction.
func Evaluate(ctx context.Context, st *store.Store, opt Options) (Report, error) {
	if err := checkQueries(ctx, st, opt.Queries); err != nil {
		return Report{}, err
	}
	runs, err := Runs(ctx, st, opt.Systems)
	if err != nil {
		return Report{}, err
	}
	return EvaluateRuns(ctx, st, runs, opt)
}

// EvaluateRuns is Evaluate over runs already read (with Runs), for callers
// that score the same systems again as grades arrive; opt.Systems is not
// used.
func EvaluateRuns(ctx context.Context, st *store.Store, runs []syseval.Run, opt Options) (Report, error) {
	var rep Report
	scale := st.Scale()
	if opt.Threshold == 0 {
		opt.Threshold = min(2, scale.Max())
	}
	if err := scale.Check(opt.Threshold); err != nil {
		return rep, fmt.Errorf("--threshold: %w", err)
	}
	so := syseval.Options{Threshold: opt.Threshold, NDCGCuts: opt.NDCGCuts}
	rep.Measures = syseval.MeasureNames(so)
	if rep.Measures == nil {
		return rep, fmt.Errorf("--ndcg-cut: cutoffs must be positive numbers")
	}
	measure, err := pickMeasure(opt.Measure, opt.NDCGCuts, rep.Measures)
	if err != nil {
		return rep, err
	}
	rep.Qrels, rep.Threshold, rep.Scale, rep.Measure, rep.CorrectWith = opt.Qrels, opt.Threshold, scale.Name, measure, opt.CorrectWith

	qrels, grades, err := Qrels(ctx, st, opt.Qrels, opt.Queries)
	if err != nil {
		return rep, err
	}
	rep.QrelsQueries, rep.QrelsGrades = len(qrels), grades
	results, err := syseval.Evaluate(runs, qrels, so)
	if err != nil {
		return rep, err
	}
	for _, r := range results {
		if r.Queries == 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: ranks none of the %d queries %s graded", r.System, len(qrels), opt.Qrels))
			continue
		}
		rep.Systems = append(rep.Systems, System{SystemResult: r})
	}
	if len(rep.Systems) == 0 {
		return rep, fmt.Errorf("no system ranks a query that %s graded%s", opt.Qrels, queryNote(opt.Queries))
	}
	slices.SortStableFunc(rep.Systems, func(a, b System) int { return compareBy(a.SystemResult, b.SystemResult, measure) })
	scored := make([]syseval.SystemResult, len(rep.Systems))
	for i, s := range rep.Systems {
		scored[i] = s.SystemResult
	}

	if rep.Pairs, err = pairTests(scored, measure, opt); err != nil {
		return rep, err
	}
	for _, name := range opt.Compare {
		if name == opt.Qrels {
			continue
		}
		c, err := compare(ctx, st, runs, qrels, name, opt, so, measure)
		if err != nil {
			var skip skipError
			if errors.As(err, &skip) {
				rep.Notes = append(rep.Notes, string(skip))
				continue
			}
			return rep, err
		}
		rep.Compare = append(rep.Compare, c)
	}
	if opt.CorrectWith != "" {
		if err := correct(ctx, st, runs, &rep, opt, so); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// pickMeasure is the measure that ranks systems: the one asked, else
// ndcg_cut_10 when computed, else the first nDCG cut.
func pickMeasure(asked string, cuts []int, names []string) (string, error) {
	if asked != "" {
		if !slices.Contains(names, asked) {
			return "", fmt.Errorf("--measure %s: not one of %s", quote.Input(asked), strings.Join(names, ", "))
		}
		return asked, nil
	}
	if len(cuts) == 0 || slices.Contains(cuts, syseval.DefaultNDCGCut) {
		return syseval.NDCGCutName(syseval.DefaultNDCGCut), nil
	}
	return names[0], nil
}

// compareBy orders results by measure, best first, ties by name.
func compareBy(a, b syseval.SystemResult, measure string) int {
	x, y := a.Mean[measure], b.Mean[measure]
	switch {
	case x > y:
		return -1
	case x < y:
		return 1
	}
	return strings.Compare(a.System, b.System)
}

func pairTests(scored []syseval.SystemResult, measure string, opt Options) ([]syseval.PairTest, error) {
	po := syseval.PairOptions{Seed: opt.Seed, Permutations: opt.Permutations, Bootstrap: opt.Bootstrap}
	switch opt.Pairs {
	case "", PairsAll:
		return syseval.ComparePairs(scored, measure, po)
	case PairsAdjacent:
		var out []syseval.PairTest
		for i := 0; i+1 < len(scored); i++ {
			pt, err := syseval.ComparePairs(scored[i:i+2], measure, po)
			if err != nil {
				return nil, err
			}
			out = append(out, pt...)
		}
		return out, nil
	case PairsNone:
		return nil, nil
	}
	return nil, fmt.Errorf("--pairs %s: use all, adjacent or none", quote.Input(opt.Pairs))
}

// skipError is a labeler left out of a comparison, with why.
type skipError string

func (e skipError) Error() string { return string(e) }

// compare scores the systems under another labeler's qrels and under the
// reference's, both restricted to the queries both labelers graded, and
// compares the verdicts.
func compare(ctx context.Context, st *store.Store, runs []syseval.Run, ref syseval.Qrels, name string, opt Options, so syseval.Options, measure string) (Comparison, error) {
	other, _, err := Qrels(ctx, st, name, opt.Queries)
	if err != nil {
		return Comparison{}, err
	}
	refBoth, otherBoth := syseval.Qrels{}, syseval.Qrels{}
	for q, g := range ref {
		if o, ok := other[q]; ok {
			refBoth[q], otherBoth[q] = g, o
		}
	}
	if len(refBoth) == 0 {
		return Comparison{}, skipError(fmt.Sprintf("compare %s: no query graded by both it and %s", name, opt.Qrels))
	}
	rr, err := syseval.Evaluate(runs, refBoth, so)
	if err != nil {
		return Comparison{}, err
	}
	or, err := syseval.Evaluate(runs, otherBoth, so)
	if err != nil {
		return Comparison{}, err
	}
	v, err := syseval.CompareVerdicts(rr, or, measure)
	if err != nil {
		return Comparison{}, skipError(fmt.Sprintf("compare %s: %v", name, err))
	}
	return Comparison{Labeler: name, Queries: len(refBoth), Verdict: v}, nil
}

// correct estimates each system's mean under the CorrectWith labeler's
// grades from the Qrels labeler's (the model's) by prediction-powered
// inference.
func correct(ctx context.Context, st *store.Store, runs []syseval.Run, rep *Report, opt Options, so syseval.Options) error {
	if opt.CorrectWith == opt.Qrels {
		return fmt.Errorf("--correct-with %s: the same labeler as --qrels", quote.Input(opt.CorrectWith))
	}
	human, _, err := Qrels(ctx, st, opt.CorrectWith, opt.Queries)
	if err != nil {
		return err
	}
	hr, err := syseval.Evaluate(runs, human, so)
	if err != nil {
		return err
	}
	byName := map[string]syseval.SystemResult{}
	for _, r := range hr {
		byName[r.System] = r
	}
	ok := 0
	for i := range rep.Systems {
		s := &rep.Systems[i]
		p, err := syseval.PPIForSystem(s.SystemResult, byName[s.System], rep.Measure)
		if err != nil {
			s.PPIErr = strings.ReplaceAll(err.Error(), "syseval: ", "")
			continue
		}
		s.PPI = &p
		ok++
	}
	if ok == 0 {
		return fmt.Errorf("--correct-with %s: no system could be corrected: %s", opt.CorrectWith, rep.Systems[0].PPIErr)
	}
	return nil
}

// Runs reads the named systems' ranked lists (all systems when names is
// empty) as syseval runs keyed by external query and document ids.
func Runs(ctx context.Context, st *store.Store, names []string) ([]syseval.Run, error) {
	systems, err := st.SelectSystems(ctx, names)
	if err != nil {
		return nil, err
	}
	qext, err := reverse(st.QueryIDs(ctx))
	if err != nil {
		return nil, err
	}
	dext, err := reverse(st.DocumentIDs(ctx))
	if err != nil {
		return nil, err
	}
	runs := make([]syseval.Run, len(systems))
	for i, s := range systems {
		rs, err := st.SystemResults(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		r := syseval.Run{System: s.Name, Ranked: map[string][]syseval.Scored{}}
		for _, x := range rs {
			q := qext[x.QueryID]
			r.Ranked[q] = append(r.Ranked[q], syseval.Scored{Doc: dext[x.DocID], Score: x.Score})
		}
		runs[i] = r
	}
	return runs, nil
}

// Qrels reads a labeler's current ok grades as qrels (restricted to the
// given query ids when any) and says how many grades they hold.
func Qrels(ctx context.Context, st *store.Store, labeler string, queries []string) (syseval.Qrels, int, error) {
	lab, err := st.Labeler(ctx, labeler)
	if err != nil {
		return nil, 0, err
	}
	grades, err := st.Grades(ctx, lab.ID)
	if err != nil {
		return nil, 0, err
	}
	only := map[string]bool{}
	for _, q := range queries {
		only[q] = true
	}
	qrels, n := syseval.Qrels{}, 0
	for _, g := range grades {
		if len(only) > 0 && !only[g.Query] {
			continue
		}
		if qrels[g.Query] == nil {
			qrels[g.Query] = map[string]int{}
		}
		qrels[g.Query][g.Doc] = g.Grade
		n++
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("%s has no grades%s: nothing to use as qrels", quote.Input(labeler), queryNote(queries))
	}
	return qrels, n, nil
}

// checkQueries refuses query ids the workspace does not have.
func checkQueries(ctx context.Context, st *store.Store, queries []string) error {
	if len(queries) == 0 {
		return nil
	}
	ids, err := st.QueryIDs(ctx)
	if err != nil {
		return err
	}
	var missing []string
	for _, q := range queries {
		if _, ok := ids[q]; !ok {
			missing = append(missing, quote.Input(q))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no query %s in the workspace", strings.Join(missing, ", "))
	}
	return nil
}

func reverse(m map[string]int64, err error) (map[int64]string, error) {
	out := make(map[int64]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out, err
}

func queryNote(qs []string) string {
	if len(qs) == 0 {
		return ""
	}
	quoted := make([]string, len(qs))
	for i, q := range qs {
		quoted[i] = quote.Input(q)
	}
	return " on queries " + strings.Join(quoted, ", ")
}

// finite is v, or nil when v is NaN or infinite (JSON has no NaN).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
