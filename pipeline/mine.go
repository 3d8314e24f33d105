package pipeline

import (
	"context"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// MineOptions configure hard-negative mining.
type MineOptions struct {
	Negatives int // BM25 documents per query (default 10)
	Progress  ProgressFunc
}

// Mine adds, for each query that has no BM25 negatives yet, its top-K BM25
// documents (excluding its seed document) as pairs with their rank and
// score. Queries are committed in batches, so an interrupted run keeps what
// it mined and a rerun continues with the rest.
func Mine(ctx context.Context, st *store.Store, opt MineOptions) (store.Run, error) {
	if opt.Negatives <= 0 {
		opt.Negatives = 10
	}
	qs, err := st.QueriesWithoutNegatives(ctx)
	if err != nil {
		return store.Run{}, err
	}
	run, resuming, err := resumable(ctx, st, store.RunMining, 0, map[string]int{"negatives": opt.Negatives})
	if err != nil || (len(qs) == 0 && !resuming) {
		return run, err // nothing to mine: no empty run recorded
	}
	p, err := openRun(ctx, st, &run, resuming, len(qs), opt.Progress)
	if err != nil {
		return run, err
	}
	started := time.Now()
	const batch = 25 // queries per transaction: short, so interactive writes are not kept waiting
	for start := 0; start < len(qs) && ctx.Err() == nil; start += batch {
		part := qs[start:min(start+batch, len(qs))]
		t0 := time.Now()
		added := 0
		// Searched before the transaction: inside one, Search cannot use
		// its MaxScore path (store.Search) and FTS5 scores every document
		// that matches a common word; mining writes only pairs, which
		// change no search result.
		found := make([][]store.Hit, len(part))
		var err error
		for i, q := range part {
			var exclude []int64
			if q.SeedDocID != 0 {
				exclude = append(exclude, q.SeedDocID)
			}
			if found[i], err = st.Search(ctx, q.Text, opt.Negatives, exclude...); err != nil {
				break
			}
		}
		if err == nil {
			err = st.Background().Tx(ctx, func(tx *store.Store) error {
				for qi, q := range part {
					for i, h := range found[qi] {
						pair := store.Pair{QueryID: q.ID, DocID: h.DocID, Source: store.SourceBM25, BM25Rank: i + 1, BM25Score: h.Score, RunID: run.ID}
						o, err := tx.PutPair(ctx, &pair)
						if err != nil {
							return err
						}
						if o == store.Inserted {
							added++
						}
					}
				}
				return tx.AddRunProgress(ctx, run.ID, store.RunDelta{Done: len(part), BusySeconds: time.Since(t0).Seconds()})
			})
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return run, finish(st, run.ID, err)
		}
		p.Done += len(part)
		p.Elapsed = time.Since(started)
		opt.Progress.send(p)
	}
	return endRun(st, run, p, opt.Progress, ctx.Err())
}
