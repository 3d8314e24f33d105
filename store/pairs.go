package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Pair sources: how a (query, document) pair was found.
const (
	SourceImported = "imported"
	SourceSeed     = "seed"
	SourceBM25     = "bm25"
	SourceHuman    = "human"
	SourcePool     = "pool" // among the top K of an imported search system
)

// Pair is a (query, document) pair to be graded.
type Pair struct {
	ID        int64
	QueryID   int64
	DocID     int64
	Source    string
	BM25Rank  int     // 0 when not mined
	BM25Score float64 // 0 when not mined
	RunID     int64
}

// PutPair inserts the pair unless it exists; it returns the pair id and
// whether it was new. An existing pair keeps its original source.
func (s *Store) PutPair(ctx context.Context, p *Pair) (Outcome, error) {
	err := s.queryRow(ctx, `SELECT id FROM pairs WHERE query_id = ? AND doc_id = ?`, p.QueryID, p.DocID).Scan(&p.ID)
	if err == nil {
		return Unchanged, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	var rank, score any
	if p.BM25Rank > 0 {
		rank, score = p.BM25Rank, p.BM25Score
	}
	res, err := s.exec(ctx, `INSERT INTO pairs(query_id, doc_id, source, bm25_rank, bm25_score, run_id, created_at) VALUES (?,?,?,?,?,?,?)`,
		p.QueryID, p.DocID, p.Source, rank, score, nullID(p.RunID), now())
	if err != nil {
		return 0, err
	}
	p.ID, err = res.LastInsertId()
	return Inserted, err
}

// PairView is a pair with the texts needed to grade it.
type PairView struct {
	Pair
	QueryExtID string
	QueryText  string
	Doc        Document
}

const pairViewSelect = `SELECT p.id, p.query_id, p.doc_id, p.source, COALESCE(p.bm25_rank, 0), COALESCE(p.bm25_score, 0), COALESCE(p.run_id, 0),
	q.ext_id, q.text, d.id, d.ext_id, d.title, d.body, d.url, d.author, d.modified, d.type, d.meta
	FROM pairs p JOIN queries q ON q.id = p.query_id JOIN documents d ON d.id = p.doc_id`

func scanPairView(sc scanner) (PairView, error) {
	var v PairView
	var mod, meta string
	err := sc.Scan(&v.ID, &v.QueryID, &v.DocID, &v.Source, &v.BM25Rank, &v.BM25Score, &v.RunID,
		&v.QueryExtID, &v.QueryText, &v.Doc.ID, &v.Doc.ExtID, &v.Doc.Title, &v.Doc.Body, &v.Doc.URL, &v.Doc.Author, &mod, &v.Doc.Type, &meta)
	v.Doc.Modified, v.Doc.Meta = parseTime(mod), decodeMeta(meta)
	return v, err
}

// PairView returns one pair with its texts.
func (s *Store) PairView(ctx context.Context, id int64) (PairView, error) {
	return scanPairView(s.h.QueryRowContext(ctx, pairViewSelect+` WHERE p.id = ?`, id))
}

// PairFilter selects pairs for a run.
type PairFilter struct {
	QueryExtIDs []string // only these queries (empty: all)
	QueryID     int64    // only this query (0: all)
	AfterPairID int64    // only pairs with a larger id (0: all)
	// UngradedBy selects the pairs this labeler has still to grade: those
	// without an ok grade (or a human's "unsure") by it. A failure is not a
	// grade: unparseable, refused and failed pairs are selected again.
	// 0: no such filter; the fields below need it.
	UngradedBy int64
	// Regrade selects every pair, graded or not (a "regrade all" run),
	// except those FinishedIn.
	Regrade bool
	// FinishedIn skips the pairs whose verdict came from one of these runs
	// (a run, and the runs working beside it): a run finishes a pair once,
	// even when it failed. A retried attempt does not finish a pair.
	FinishedIn []int64
	// Unclaimed skips the pairs anyone holds a live claim on (see
	// ClaimPairs); ClaimedByOther selects only those that an owner other than
	// this one holds.
	Unclaimed      bool
	ClaimedByOther string
	// PairIDs, when not nil, restricts the filter to these pairs (an empty
	// list selects none): the pairs a selection chose for a run.
	PairIDs []int64
	Limit   int
}

// where builds the WHERE clause of a pair filter (over pairs p and queries
// q); claims are live when they expire after now.
func (f PairFilter) where(now time.Time) (string, []any) {
	c, args := f.cond(now)
	return ` WHERE ` + c, args
}

// cond is the condition of where, an SQL expression over p and q.
func (f PairFilter) cond(now time.Time) (string, []any) {
	q := `1=1`
	var args []any
	if len(f.QueryExtIDs) > 0 {
		q += ` AND q.ext_id IN (` + placeholders(len(f.QueryExtIDs)) + `)`
		for _, id := range f.QueryExtIDs {
			args = append(args, id)
		}
	}
	if f.QueryID != 0 {
		q += ` AND p.query_id = ?`
		args = append(args, f.QueryID)
	}
	if f.AfterPairID != 0 {
		q += ` AND p.id > ?`
		args = append(args, f.AfterPairID)
	}
	if f.PairIDs != nil {
		// one parameter however many pairs: a JSON array of ids
		ids, _ := json.Marshal(f.PairIDs)
		if len(f.PairIDs) == 0 {
			ids = []byte("[]")
		}
		q += ` AND p.id IN (SELECT value FROM json_each(?))`
		args = append(args, string(ids))
	}
	if f.UngradedBy == 0 {
		return q, args
	}
	var done []string
	if !f.Regrade {
		done = append(done, `j.status IN ('ok', 'unsure')`)
	}
	if len(f.FinishedIn) > 0 {
		done = append(done, `(j.run_id IN (`+placeholders(len(f.FinishedIn))+`) AND j.retrying = 0)`)
	}
	if len(done) > 0 {
		q += ` AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.pair_id = p.id AND j.labeler_id = ? AND (` + strings.Join(done, " OR ") + `))`
		args = append(args, f.UngradedBy)
		for _, id := range f.FinishedIn {
			args = append(args, id)
		}
	}
	if f.Unclaimed {
		q += ` AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.pair_id = p.id AND l.labeler_id = ? AND l.expires_at > ?)`
		args = append(args, f.UngradedBy, now.UnixMilli())
	}
	if f.ClaimedByOther != "" {
		q += ` AND EXISTS (SELECT 1 FROM leases l WHERE l.pair_id = p.id AND l.labeler_id = ? AND l.expires_at > ? AND l.owner != ?)`
		args = append(args, f.UngradedBy, now.UnixMilli(), f.ClaimedByOther)
	}
	return q, args
}

// CountPairs counts the pairs a filter selects (ignoring Limit).
func (s *Store) CountPairs(ctx context.Context, f PairFilter) (int, error) {
	where, args := f.where(time.Now())
	var n int
	err := s.h.QueryRowContext(ctx, `SELECT count(*) FROM pairs p JOIN queries q ON q.id = p.query_id`+where, args...).Scan(&n)
	return n, err
}

// CountPairsUpTo is CountPairs, but counts no further than n (0: all).
func (s *Store) CountPairsUpTo(ctx context.Context, f PairFilter, n int) (int, error) {
	if n <= 0 {
		return s.CountPairs(ctx, f)
	}
	where, args := f.where(time.Now())
	var c int
	err := s.h.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM pairs p JOIN queries q ON q.id = p.query_id`+where+` LIMIT ?)`, append(args, n)...).Scan(&c)
	return c, err
}

// PairViews returns pairs grouped by query (query id, then pair id) so that
// model calls for one query are sent together and share a cached prefix.
func (s *Store) PairViews(ctx context.Context, f PairFilter) ([]PairView, error) {
	where, args := f.where(time.Now())
	q := pairViewSelect + where + ` ORDER BY p.query_id, p.id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s.h, scanPairView, q, args...)
}

// PairKey identifies a pair by external ids.
type PairKey struct{ Query, Doc string }

// PairIDs maps (query ext id, doc ext id) to pair id.
func (s *Store) PairIDs(ctx context.Context) (map[PairKey]int64, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT q.ext_id, d.ext_id, p.id FROM pairs p JOIN queries q ON q.id = p.query_id JOIN documents d ON d.id = p.doc_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[PairKey]int64{}
	for rows.Next() {
		var k PairKey
		var id int64
		if err := rows.Scan(&k.Query, &k.Doc, &id); err != nil {
			return nil, err
		}
		m[k] = id
	}
	return m, rows.Err()
}

// QueriesWithoutNegatives lists queries that have no BM25-mined pair yet.
func (s *Store) QueriesWithoutNegatives(ctx context.Context) ([]Query, error) {
	return queryAll(ctx, s.h, scanQuery, `SELECT `+queryColumns+` FROM queries q WHERE NOT EXISTS (SELECT 1 FROM pairs p WHERE p.query_id = q.id AND p.source = 'bm25') ORDER BY id`)
}

// QueryCandidates returns the documents paired with a query (in pair id
// order) and, for the pairs BM25 mining found, the score it recorded, so
// per-query features need to score only the other documents.
func (s *Store) QueryCandidates(ctx context.Context, queryID int64) ([]int64, map[int64]float64, error) {
	type cand struct {
		doc   int64
		score sql.NullFloat64
	}
	cs, err := queryAll(ctx, s.h, func(sc scanner) (cand, error) {
		var c cand
		err := sc.Scan(&c.doc, &c.score)
		return c, err
	}, `SELECT doc_id, CASE WHEN source = 'bm25' THEN bm25_score END FROM pairs WHERE query_id = ? ORDER BY id`, queryID)
	if err != nil {
		return nil, nil, err
	}
	docs := make([]int64, len(cs))
	known := map[int64]float64{}
	for i, c := range cs {
		docs[i] = c.doc
		if c.score.Valid {
			known[c.doc] = c.score.Float64
		}
	}
	return docs, known, nil
}
