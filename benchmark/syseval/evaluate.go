package syseval

import (
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Qrels are graded judgments: query id -> document id -> grade.
type Qrels map[string]map[string]int

// Run is one system's ranked documents per query id. The order of each
// slice does not matter: documents are ordered by score (see [TopK]).
type Run struct {
	System string
	Ranked map[string][]Scored
}

// SystemResult is one system scored under one set of qrels.
type SystemResult struct {
	System string
	// Queries is the number of queries in both the run and the qrels: the
	// ones averaged. With none, Mean and PerQuery are empty.
	Queries int
	// Mean maps a measure name (see MeasureNames) to its mean over Queries.
	Mean map[string]float64
	// PerQuery maps query id -> measure name -> value.
	PerQuery map[string]map[string]float64
}

// Evaluate scores every run under q, as trec_eval 10.0 would (the rules are
// in the package doc). The work is parallel over queries (a worker scores
// every run on one query, so that its grades stay in cache), up to
// GOMAXPROCS workers; the result keeps the order of runs and is the same
// whatever the parallelism. Errors: invalid options, two runs with one
// system name, a document twice in a query or a NaN score (in a query that
// has qrels; trec_eval never looks at the others); with several, the one
// of the first run that has one.
func Evaluate(runs []Run, q Qrels, o Options) ([]SystemResult, error) {
	p, err := newPlan(o)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(runs))
	for _, r := range runs {
		if seen[r.System] {
			return nil, fmt.Errorf("syseval: system %q given twice", r.System)
		}
		seen[r.System] = true
	}
	// Queries in a fixed (sorted) order, so that sums are bit-for-bit
	// reproducible; qrels without any entry are not queries trec_eval sees.
	qids := make([]string, 0, len(q))
	for qid, g := range q {
		if len(g) > 0 {
			qids = append(qids, qid)
		}
	}
	slices.Sort(qids)
	seed := maphash.MakeSeed() // table placement only: results do not depend on it
	judged := make([]judgedQuery, len(qids))
	for i, qid := range qids {
		judged[i] = newJudgedQuery(q[qid], p, seed)
	}

	// Query-major: a worker takes a query and scores every run on it, so
	// that the query's grade table stays in cache across the systems.
	nm, nq := len(p.names), len(qids)
	vals := make([]float64, len(runs)*nq*nm) // [run][query][measure]
	scored := make([]bool, len(runs)*nq)
	firstErr := make([]indexedErr, nq) // per query, the error of the first run that has one
	var next atomic.Int64
	parallel(nq, func() {
		s := newScorer(p, seed)
		for {
			qi := int(next.Add(1) - 1)
			if qi >= nq {
				return
			}
			for ri := range runs {
				ranked := runs[ri].Ranked[qids[qi]]
				if len(ranked) == 0 {
					continue
				}
				k := ri*nq + qi
				if err := s.score(runs[ri].System, qids[qi], ranked, &judged[qi], vals[k*nm:(k+1)*nm]); err != nil {
					firstErr[qi] = indexedErr{ri, err}
					break
				}
				scored[k] = true
			}
		}
	})
	var bad *indexedErr
	for qi := range firstErr {
		if e := &firstErr[qi]; e.err != nil && (bad == nil || e.run < bad.run) {
			bad = e
		}
	}
	if bad != nil {
		return nil, bad.err
	}

	out := make([]SystemResult, len(runs))
	next.Store(0)
	parallel(len(runs), func() {
		for {
			ri := int(next.Add(1) - 1)
			if ri >= len(runs) {
				return
			}
			out[ri] = assemble(runs[ri].System, qids, p.names, vals[ri*nq*nm:(ri+1)*nq*nm], scored[ri*nq:(ri+1)*nq])
		}
	})
	return out, nil
}

// indexedErr is an error and the index of the run it is about.
type indexedErr struct {
	run int
	err error
}

// parallel runs worker in up to GOMAXPROCS goroutines (never more than
// jobs) and waits for them.
func parallel(jobs int, worker func()) {
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), jobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker()
		}()
	}
	wg.Wait()
}

// assemble builds one system's result from its per-query values, summing
// in query id order so that the means are reproducible bit for bit.
func assemble(system string, qids, names []string, vals []float64, scored []bool) SystemResult {
	nm := len(names)
	res := SystemResult{System: system, Mean: map[string]float64{}, PerQuery: map[string]map[string]float64{}}
	sums := make([]float64, nm)
	for qi, qid := range qids {
		if !scored[qi] {
			continue
		}
		v := vals[qi*nm : (qi+1)*nm]
		m := make(map[string]float64, nm)
		for k, x := range v {
			m[names[k]] = x
			sums[k] += x
		}
		res.PerQuery[qid] = m
		res.Queries++
	}
	if res.Queries > 0 {
		for k, name := range names {
			res.Mean[name] = sums[k] / float64(res.Queries)
		}
	}
	return res
}

// scorer holds one worker's scratch space.
type scorer struct {
	p    *plan
	seed maphash.Seed
	buf  []entry
	rels []int
	seen seenSet
}

// entry is a retrieved document with its relevance value, for sorting.
type entry struct {
	score float64
	doc   string
	rel   int
}

func newScorer(p *plan, seed maphash.Seed) *scorer { return &scorer{p: p, seed: seed} }

// score writes one run's values on one query into out.
func (s *scorer) score(system, qid string, ranked []Scored, j *judgedQuery, out []float64) error {
	if err := s.judge(system, qid, ranked, j); err != nil {
		return err
	}
	// Runs usually arrive in rank order already; checking costs one pass
	// and, when the order is off, stops at the first inversion.
	byTrec := func(a, b entry) int { return compareFinite(a.score, a.doc, b.score, b.doc) }
	if !slices.IsSortedFunc(s.buf, byTrec) {
		slices.SortFunc(s.buf, byTrec)
	}
	s.rels = s.rels[:0]
	for _, e := range s.buf {
		s.rels = append(s.rels, e.rel)
	}
	scoreQuery(s.rels, j, s.p, out)
	return nil
}

// judge fills s.buf with ranked and each document's relevance value, and
// refuses what trec_eval refuses or cannot order: a document twice in one
// query, a NaN score.
func (s *scorer) judge(system, qid string, ranked []Scored, j *judgedQuery) error {
	s.buf = s.buf[:0]
	s.seen.reset(len(ranked))
	for _, d := range ranked {
		if math.IsNaN(d.Score) {
			return fmt.Errorf("syseval: system %q query %q document %q: score is NaN", system, qid, d.Doc)
		}
		h := maphash.String(s.seed, d.Doc)
		if s.seen.add(d.Doc, h) {
			return fmt.Errorf("syseval: system %q query %q: document %q retrieved twice", system, qid, d.Doc)
		}
		s.buf = append(s.buf, entry{score: d.Score, doc: d.Doc, rel: j.relOf(d.Doc, h)})
	}
	return nil
}
