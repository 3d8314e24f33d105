package syseval

import (
	"fmt"
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
// in the package doc). Runs are scored in parallel, one per worker, up to
// GOMAXPROCS workers; the result keeps the order of runs and is the same
// whatever the parallelism. Errors: invalid options, two runs with one
// system name, a document twice in a query or a NaN score (in a query that
// has qrels; trec_eval never looks at the others).
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
	judged := make([]judgedQuery, len(qids))
	for i, qid := range qids {
		judged[i] = newJudgedQuery(q[qid], p)
	}

	out := make([]SystemResult, len(runs))
	errs := make([]error, len(runs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(runs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScorer(p)
			for {
				i := int(next.Add(1) - 1)
				if i >= len(runs) {
					return
				}
				out[i], errs[i] = s.run(&runs[i], qids, judged)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scorer holds one worker's scratch space.
type scorer struct {
	p      *plan
	buf    []Scored
	rels   []int
	vals   []float64
	sums   []float64
	docSet map[string]struct{}
}

func newScorer(p *plan) *scorer {
	return &scorer{
		p:      p,
		vals:   make([]float64, len(p.names)),
		sums:   make([]float64, len(p.names)),
		docSet: map[string]struct{}{},
	}
}

func (s *scorer) run(r *Run, qids []string, judged []judgedQuery) (SystemResult, error) {
	res := SystemResult{System: r.System, Mean: map[string]float64{}, PerQuery: map[string]map[string]float64{}}
	clear(s.sums)
	for qi, qid := range qids {
		ranked := r.Ranked[qid]
		if len(ranked) == 0 {
			continue
		}
		if err := s.check(r.System, qid, ranked); err != nil {
			return SystemResult{}, err
		}
		s.buf = append(s.buf[:0], ranked...)
		sortTrec(s.buf)
		s.rels = scoreQuery(s.buf, &judged[qi], s.p, s.rels, s.vals)
		m := make(map[string]float64, len(s.vals))
		for k, v := range s.vals {
			m[s.p.names[k]] = v
			s.sums[k] += v
		}
		res.PerQuery[qid] = m
		res.Queries++
	}
	if res.Queries > 0 {
		for k, name := range s.p.names {
			res.Mean[name] = s.sums[k] / float64(res.Queries)
		}
	}
	return res, nil
}

// check refuses what trec_eval refuses or cannot order: a document twice
// in one query, a NaN score.
func (s *scorer) check(system, qid string, ranked []Scored) error {
	clear(s.docSet)
	for _, d := range ranked {
		if math.IsNaN(d.Score) {
			return fmt.Errorf("syseval: system %q query %q document %q: score is NaN", system, qid, d.Doc)
		}
		if _, dup := s.docSet[d.Doc]; dup {
			return fmt.Errorf("syseval: system %q query %q: document %q retrieved twice", system, qid, d.Doc)
		}
		s.docSet[d.Doc] = struct{}{}
	}
	return nil
}
