package distill

import (
	"context"
	"fmt"
	"strconv"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// The training-time estimate: how well will the student agree with the
// teacher on queries it has not seen? Each training query is held out in
// turn (or one of ten folds of whole queries, beyond maxLeaveOneOut
// queries), a student is trained exactly as the real one on the other
// queries, and its grades of the held-out queries are compared with the
// teacher's, and with the human grades there where there are any; the
// lexical and bm25 graders are scored on the same pairs. The intervals are
// 95% bootstrap intervals over queries (benchmark.Compute).
const (
	// maxLeaveOneOut is the most training queries estimated by leaving
	// one query out; beyond it the queries go into estimateFolds folds.
	maxLeaveOneOut = 20
	estimateFolds  = 10
	// EstimateBootstrap is the number of query resamples of the intervals.
	EstimateBootstrap = 1000
	// ReliableQueries is the least number of training queries whose
	// estimate is not marked unreliable; WideInterval the widest κ
	// interval that is not.
	ReliableQueries = 30
	WideInterval    = 0.2
)

// estPair is one pair of a training query as the estimate sees it.
type estPair struct {
	pairID          int64
	query           string
	x               []float64
	teacher         int
	train           bool // a training example (teacher-graded, not left out)
	human           int
	hasHuman        bool
	lex, bm         int
	lexExp, bmExp   float64
	student         int // its held-out grade, filled by estimate
	studentExpected float64
}

// foldTrainer trains a fold's student of the estimate: student.TrainForGrades
// (the fold models only grade their held-out pairs); student.Train gives
// the same grades, slower.
type foldTrainer func([]student.Example, student.TrainOptions) (*student.Model, error)

// estimate cross-validates the student by query over pairs (the training
// queries' pairs), each fold's student trained by train. It returns nil
// when there are fewer than two training queries: nothing can be held out.
func estimate(ctx context.Context, pairs []estPair, topt student.TrainOptions, teacher, humanRef string, train foldTrainer) (*store.StudentEstimate, error) {
	queries := make([]string, len(pairs))
	for i, p := range pairs {
		queries[i] = p.query
	}
	distinct := map[string]bool{}
	for _, p := range pairs {
		if p.train {
			distinct[p.query] = true
		}
	}
	Q := len(distinct)
	if Q < 2 {
		return nil, nil
	}
	k := Q
	if Q > maxLeaveOneOut {
		k = estimateFolds
	}
	fold, nf := student.QueryFolds(queries, k)
	for f := range nf {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var ex []student.Example
		for i, p := range pairs {
			if p.train && fold[i] != f {
				ex = append(ex, student.Example{X: p.x, Grade: p.teacher, Query: p.query})
			}
		}
		if len(ex) == 0 {
			return nil, fmt.Errorf("estimate: fold %d leaves no training pairs", f)
		}
		m, err := train(ex, topt)
		if err != nil {
			return nil, fmt.Errorf("estimate (fold %d of %d): %w", f+1, nf, err)
		}
		for i := range pairs {
			if fold[i] == f {
				pairs[i].student, pairs[i].studentExpected, _ = m.Predict(pairs[i].x, nil)
			}
		}
	}

	est := &store.StudentEstimate{Teacher: teacher, Queries: Q, Folds: nf, Bootstrap: EstimateBootstrap}
	opt := benchmark.Options{MinGrade: topt.MinGrade, MaxGrade: topt.MaxGrade, Bootstrap: EstimateBootstrap, Seed: 1}
	score := func(ref func(estPair) (int, bool), got func(estPair) (int, float64)) (store.EstimateAgreement, int, int, bool, error) {
		var items []benchmark.Item
		for _, p := range pairs {
			r, ok := ref(p)
			if !ok {
				continue
			}
			g, s := got(p)
			items = append(items, benchmark.Item{Query: p.query, Doc: strconv.FormatInt(p.pairID, 10), Ref: r, Got: g, Score: s})
		}
		if len(items) == 0 {
			return store.EstimateAgreement{}, 0, 0, false, nil
		}
		res, err := benchmark.Compute(items, opt)
		if err != nil {
			return store.EstimateAgreement{}, 0, 0, false, err
		}
		defined := true
		for _, u := range res.Undefined {
			if u == "cohen_kappa" || u == "quadratic_kappa" {
				defined = false
			}
		}
		return store.EstimateAgreement{Kappa: res.CohenKappa, KappaCI: res.CI["cohen_kappa"],
			QuadKappa: res.QuadraticKappa, QuadKappaCI: res.CI["quadratic_kappa"]}, res.N, res.Queries, defined, nil
	}
	stu := func(p estPair) (int, float64) { return p.student, p.studentExpected }
	lex := func(p estPair) (int, float64) { return p.lex, p.lexExp }
	bm := func(p estPair) (int, float64) { return p.bm, p.bmExp }
	// three graders against one reference
	three := func(ref func(estPair) (int, bool)) (s, l, b store.EstimateAgreement, n, q int, defined bool, err error) {
		if s, n, q, defined, err = score(ref, stu); err != nil {
			return
		}
		if l, _, _, _, err = score(ref, lex); err != nil {
			return
		}
		b, _, _, _, err = score(ref, bm)
		return
	}
	var defined bool
	var err error
	est.Student, est.Lexical, est.BM25, est.Pairs, _, defined, err = three(func(p estPair) (int, bool) { return p.teacher, p.train })
	if err != nil {
		return nil, err
	}
	hs, hl, hb, hn, hq, _, err := three(func(p estPair) (int, bool) { return p.human, p.hasHuman })
	if err != nil {
		return nil, err
	}
	if hn > 0 {
		est.Human = &store.HumanEstimate{Reference: humanRef, Queries: hq, Pairs: hn, Student: hs, Lexical: hl, BM25: hb}
	}
	switch {
	case !defined:
		est.Unreliable = "κ is undefined on these pairs (the teacher gave one grade)"
	case Q < ReliableQueries:
		est.Unreliable = fmt.Sprintf("from %d queries (fewer than %d)", Q, ReliableQueries)
	case est.Student.KappaCI[1]-est.Student.KappaCI[0] > WideInterval:
		est.Unreliable = fmt.Sprintf("the κ interval is wider than %.1f", WideInterval)
	}
	return est, nil
}

// humanReference returns the human grades the estimate compares with: the
// adjudicated ones (store.GoldLabeler) when there are any, else those of
// the human labeler with the most grades; "" when no human graded.
func humanReference(ctx context.Context, st *store.Store) (string, map[int64]int, error) {
	labs, err := st.Labelers(ctx)
	if err != nil {
		return "", nil, err
	}
	best, bestN := "", 0
	var grades map[int64]int
	for _, l := range labs {
		if l.Kind != store.KindHuman {
			continue
		}
		gs, err := st.Grades(ctx, l.ID)
		if err != nil {
			return "", nil, err
		}
		if len(gs) == 0 {
			continue
		}
		if l.Name == store.GoldLabeler || len(gs) > bestN && best != store.GoldLabeler {
			best, bestN = l.Name, len(gs)
			grades = make(map[int64]int, len(gs))
			for _, g := range gs {
				grades[g.PairID] = g.Grade
			}
		}
	}
	return best, grades, nil
}
