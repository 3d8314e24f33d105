package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/qrelbench/qrelbench/benchmark/syseval"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// PoolOptions configure pooling.
type PoolOptions struct {
	Depth    int      // top documents per system and query (required)
	Systems  []string // systems to pool (empty: all)
	Queries  []string // query ids to pool (empty: every query a system ranks)
	Progress ProgressFunc
}

// PoolResult says what a pooling did and how much of the pool is graded.
type PoolResult struct {
	Run     store.Run      // zero when there was nothing to add
	Systems int            // systems pooled
	Queries int            // queries with at least one pooled document
	Pool    int            // distinct pairs in the pool
	Added   int            // of Pool, pairs that did not exist before
	Lists   int            // (system, query) lists recorded or deepened
	Graded  map[string]int // labeler name -> pool pairs it has an ok grade for
}

// Pool adds, for each selected system and query, the top Depth documents in
// the order the metrics use (syseval.TopK: score descending, ties by
// document id descending) as pairs of source "pool", and records which
// systems brought each pair at which position (store.PoolList). Existing
// pairs are kept, their source too, and count in the pool; pooling again
// adds nothing. Queries are committed in batches as background
// transactions, so an interrupted run keeps what it wrote and a rerun
// finishes the rest.
func Pool(ctx context.Context, st *store.Store, opt PoolOptions) (PoolResult, error) {
	var res PoolResult
	if opt.Depth <= 0 {
		return res, fmt.Errorf("pool: --depth must be a positive number of documents")
	}
	systems, err := st.SelectSystems(ctx, opt.Systems)
	if err != nil {
		return res, err
	}
	res.Systems = len(systems)
	onlyQueries, err := poolQueries(ctx, st, opt.Queries)
	if err != nil {
		return res, err
	}
	docIDs, err := st.DocumentIDs(ctx)
	if err != nil {
		return res, err
	}
	docExt, _ := reverseIDs(docIDs, nil)

	// What the pool is (query -> documents), and which of its lists are
	// not recorded yet. Small per-query sets: a pool is millions of
	// (system, document) hits over a few hundred thousand pairs.
	inPool := map[int64]map[int64]struct{}{}
	var todo []store.PoolList
	for _, sys := range systems {
		lists, err := systemTop(ctx, st, sys.ID, opt.Depth, onlyQueries, docIDs, docExt)
		if err != nil {
			return res, err
		}
		known, err := st.SystemPool(ctx, sys.ID)
		if err != nil {
			return res, err
		}
		for _, l := range lists {
			docs := inPool[l.QueryID]
			if docs == nil {
				docs = make(map[int64]struct{}, 4*opt.Depth)
				inPool[l.QueryID] = docs
			}
			for _, d := range l.Docs {
				docs[d] = struct{}{}
			}
			if known[l.QueryID].Depth < opt.Depth {
				todo = append(todo, l)
			}
		}
	}
	for _, docs := range inPool {
		res.Pool += len(docs)
	}
	res.Queries = len(inPool)
	// Read before writing: the pairs pooling creates have no grades yet.
	var ids []int64
	if err := st.ScanPairIDs(ctx, 0, func(id, q, d int64) {
		if _, ok := inPool[q][d]; ok {
			ids = append(ids, id)
		}
	}); err != nil {
		return res, err
	}
	if len(todo) > 0 {
		if res.Run, err = writePool(ctx, st, opt, todo, &res); err != nil {
			return res, err
		}
	}
	res.Graded, err = st.OKGradesAmong(ctx, ids)
	return res, err
}

// poolQueries resolves --query ids (nil: no restriction).
func poolQueries(ctx context.Context, st *store.Store, only []string) (map[int64]bool, error) {
	if len(only) == 0 {
		return nil, nil
	}
	qids, err := st.QueryIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	var missing []string
	for _, ext := range only {
		id, ok := qids[ext]
		if !ok {
			missing = append(missing, quote.Input(ext))
			continue
		}
		out[id] = true
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no query %s in the workspace", strings.Join(missing, ", "))
	}
	return out, nil
}

func reverseIDs(m map[string]int64, err error) (map[int64]string, error) {
	out := make(map[int64]string, len(m))
	for ext, id := range m {
		out[id] = ext
	}
	return out, err
}

// systemTop is one system's top depth documents per query, in the metrics'
// order, sorted by query id.
func systemTop(ctx context.Context, st *store.Store, systemID int64, depth int, only map[int64]bool, docID map[string]int64, docExt map[int64]string) ([]store.PoolList, error) {
	byQuery := map[int64][]syseval.Scored{}
	// The score rank orders a query's candidates exactly as their scores
	// do (higher score, lower rank; equal scores, equal ranks), so TopK on
	// its negation cuts exactly where it would on the scores.
	err := st.TopCandidates(ctx, systemID, depth, func(q, d int64, scoreRank int) {
		if only != nil && !only[q] {
			return
		}
		byQuery[q] = append(byQuery[q], syseval.Scored{Doc: docExt[d], Score: -float64(scoreRank)})
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.PoolList, 0, len(byQuery))
	for q, ranked := range byQuery {
		top := syseval.TopK(ranked, depth)
		l := store.PoolList{SystemID: systemID, QueryID: q, Depth: depth, Docs: make([]int64, len(top))}
		for i, s := range top {
			l.Docs[i] = docID[s.Doc]
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].QueryID < out[j].QueryID })
	return out, nil
}

// writePool records the lists and their missing pairs, a batch of queries
// per transaction, as a resumable pooling run.
func writePool(ctx context.Context, st *store.Store, opt PoolOptions, todo []store.PoolList, res *PoolResult) (store.Run, error) {
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].QueryID < todo[j].QueryID })
	var byQuery [][]store.PoolList
	for i := 0; i < len(todo); {
		j := i
		for j < len(todo) && todo[j].QueryID == todo[i].QueryID {
			j++
		}
		byQuery = append(byQuery, todo[i:j])
		i = j
	}
	systems := append([]string(nil), opt.Systems...)
	sort.Strings(systems)
	queries := append([]string(nil), opt.Queries...)
	sort.Strings(queries)
	params := struct {
		Depth   int      `json:"depth"`
		Systems []string `json:"systems,omitempty"`
		Queries []string `json:"queries,omitempty"`
	}{opt.Depth, systems, queries}
	run, resuming, err := resumable(ctx, st, store.RunPooling, 0, params)
	if err != nil {
		return run, err
	}
	p, err := openRun(ctx, st, &run, resuming, len(byQuery), opt.Progress)
	if err != nil {
		return run, err
	}
	started := time.Now()
	const batch = 50 // queries per transaction: short, so interactive writes are not kept waiting
	for start := 0; start < len(byQuery) && ctx.Err() == nil; start += batch {
		part := byQuery[start:min(start+batch, len(byQuery))]
		t0 := time.Now()
		var lists []store.PoolList
		for _, q := range part {
			for _, l := range q {
				l.RunID = run.ID
				lists = append(lists, l)
			}
		}
		var added, recorded int
		err := st.Background().Tx(ctx, func(tx *store.Store) error {
			var err error
			if added, recorded, err = tx.AddToPool(ctx, lists, run.ID); err != nil {
				return err
			}
			return tx.AddRunProgress(ctx, run.ID, store.RunDelta{Done: len(part), BusySeconds: time.Since(t0).Seconds()})
		})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return run, finish(st, run.ID, err)
		}
		res.Added += added
		res.Lists += recorded
		p.Done += len(part)
		p.Elapsed = time.Since(started)
		opt.Progress.send(p)
	}
	return endRun(st, run, p, opt.Progress, ctx.Err())
}
