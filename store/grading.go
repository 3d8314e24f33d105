package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"
)

// CandidateGroup is one query's pairs as an in-process grader needs them:
// every pair of the query (a document is ranked among all of its query's
// candidates, pending or not), which of them are to be graded, and the
// BM25 score of each candidate's document for the query text.
type CandidateGroup struct {
	QueryID   int64
	QueryText string
	// Pairs are every pair of the query, in pair id order. Their documents'
	// Meta is not read: no grader uses it.
	Pairs []PairView
	// Pending are the indexes in Pairs of the pairs the filter selects, in
	// pair id order.
	Pending []int
	// BM25 is each candidate document's BM25 score for the query text, by
	// document id: the score mining recorded for a mined pair, else the
	// document's own (BM25Scores); documents that do not match are absent.
	BM25 map[int64]float64
}

// candidateSelect reads the pairs of a list of queries (a JSON array, one
// parameter however many) with their texts, the mined score, the FTS5
// docsize record of the document (for candidate-only BM25) and, first, the
// pending flag (a filter's cond). It has no ORDER BY: SQLite would copy
// every row, texts and all, into a sorter; CandidateGroups sorts the rows
// it read instead.
const candidateSelect = `SELECT p.id, p.query_id, p.doc_id, p.source, COALESCE(p.bm25_rank, 0), COALESCE(p.bm25_score, 0), COALESCE(p.run_id, 0),
	CASE WHEN p.source = 'bm25' THEN p.bm25_score END, q.ext_id, q.text,
	d.ext_id, d.title, d.body, d.url, d.author, d.modified, d.type, z.sz
	FROM pairs p JOIN queries q ON q.id = p.query_id JOIN documents d ON d.id = p.doc_id
	LEFT JOIN documents_fts_docsize z ON z.id = d.id
	WHERE p.query_id IN (SELECT value FROM json_each(?))`

// candidateRow is a row of candidateSelect.
type candidateRow struct {
	v       PairView
	pending bool
	mined   sql.NullFloat64
	sz      []byte
}

// CandidateGroups reads the candidate groups of the given queries, in query
// id order, in one statement: f selects the pending pairs (its Limit is
// ignored); a query with no pair is left out, one with none pending has no
// Pending and no BM25 scores. It is what in-process grading reads, a chunk
// of queries at a time: its cost per pair does not depend on the size of
// the corpus (documents are read by id, the BM25 of a pair is computed
// from its document with cached corpus statistics).
func (s *Store) CandidateGroups(ctx context.Context, queryIDs []int64, f PairFilter) ([]CandidateGroup, error) {
	if len(queryIDs) == 0 {
		return nil, nil
	}
	ids, err := json.Marshal(queryIDs)
	if err != nil {
		return nil, err
	}
	cond, args := f.cond(time.Now())
	cands, err := queryAll(ctx, s.h, func(sc scanner) (candidateRow, error) {
		var r candidateRow
		var mod string
		v := &r.v
		err := sc.Scan(&r.pending, &v.ID, &v.QueryID, &v.DocID, &v.Source, &v.BM25Rank, &v.BM25Score, &v.RunID, &r.mined,
			&v.QueryExtID, &v.QueryText, &v.Doc.ExtID, &v.Doc.Title, &v.Doc.Body, &v.Doc.URL, &v.Doc.Author, &mod, &v.Doc.Type, &r.sz)
		v.Doc.ID, v.Doc.Modified = v.DocID, parseTime(mod)
		return r, err
	}, `SELECT (`+cond+`), `+candidateSelect[len(`SELECT `):], append(args, string(ids))...)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cands, func(a, b candidateRow) int {
		return cmp.Or(cmp.Compare(a.v.QueryID, b.v.QueryID), cmp.Compare(a.v.ID, b.v.ID))
	})
	var (
		groups []CandidateGroup
		todo   []docSize // the candidates to score
		first  int       // todo's first candidate of the group being read
	)
	// A group with nothing pending is kept (its Pairs say how much was
	// read) but not scored.
	for _, r := range cands {
		if n := len(groups); n == 0 || groups[n-1].QueryID != r.v.QueryID {
			if n > 0 && len(groups[n-1].Pending) == 0 {
				todo = todo[:first]
			}
			groups = append(groups, CandidateGroup{QueryID: r.v.QueryID, QueryText: r.v.QueryText, BM25: map[int64]float64{}})
			first = len(todo)
		}
		g := &groups[len(groups)-1]
		if r.pending {
			g.Pending = append(g.Pending, len(g.Pairs))
		}
		g.Pairs = append(g.Pairs, r.v)
		if r.mined.Valid {
			g.BM25[r.v.DocID] = r.mined.Float64
		} else {
			todo = append(todo, docSize{group: len(groups) - 1, pair: len(g.Pairs) - 1, sz: r.sz})
		}
	}
	if n := len(groups); n > 0 && len(groups[n-1].Pending) == 0 {
		todo = todo[:first]
	}
	return groups, s.scoreGroups(ctx, groups, todo)
}

// docSize is a candidate to score: its group and pair in CandidateGroups'
// result and its document's FTS5 docsize record.
type docSize struct {
	group, pair int
	sz          []byte
}

// scoreGroups adds to each group's BM25 the scores of the listed
// candidates, as BM25Scores would compute them (the same corpus cache and
// scorer, FTS5 for whatever they cannot score exactly), from the texts
// already read.
func (s *Store) scoreGroups(ctx context.Context, groups []CandidateGroup, todo []docSize) error {
	rest := make([][]int64, len(groups)) // per group, the documents for FTS5
	terms := make([][]string, len(groups))
	for i := range groups {
		terms[i] = ftsTerms(groups[i].QueryText)
	}
	if s.inTx {
		// see BM25Scores: only FTS5 is exact inside a transaction
		for _, t := range todo {
			rest[t.group] = append(rest[t.group], groups[t.group].Pairs[t.pair].DocID)
		}
	} else if err := s.scoreCandidates(ctx, groups, terms, todo, rest); err != nil {
		return err
	}
	for i, ids := range rest {
		if len(terms[i]) == 0 || len(ids) == 0 {
			continue
		}
		if err := s.fts5BM25(ctx, FTSQuery(groups[i].QueryText), ids, groups[i].BM25); err != nil {
			return err
		}
	}
	return nil
}

// scoreCandidates is scoreGroups' candidate-only BM25, under the corpus
// cache's lock once for all the groups.
func (s *Store) scoreCandidates(ctx context.Context, groups []CandidateGroup, terms [][]string, todo []docSize, rest [][]int64) error {
	c := bm25CorpusFor(s.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx, s.h); err != nil {
		return err
	}
	scorers := make([]*bm25Scorer, len(groups))
	exact := make([]bool, len(groups))
	for i := range groups {
		if len(terms[i]) == 0 {
			continue // nothing to match: no score
		}
		sc, ok, err := c.scorer(ctx, s.h, terms[i])
		if err != nil {
			return err
		}
		scorers[i], exact[i] = sc, ok
	}
	for _, t := range todo {
		g := &groups[t.group]
		if len(terms[t.group]) == 0 {
			continue
		}
		v := &g.Pairs[t.pair]
		sc := scorers[t.group]
		switch {
		case !exact[t.group]:
			rest[t.group] = append(rest[t.group], v.DocID)
		case sc == nil:
			// an empty corpus: nothing matches
		default:
			rest[t.group] = sc.scoreInto(v.DocID, v.Doc.Title, v.Doc.Body, t.sz, g.BM25, rest[t.group])
		}
	}
	return nil
}
