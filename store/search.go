package store

import (
	"context"
	"strings"
	"unicode"
)

// Hit is one BM25 search result. Score is BM25 with higher = better.
type Hit struct {
	DocID int64
	ExtID string
	Score float64
}

// Column weights for bm25(): a term in the title counts twice.
const bm25Weights = `bm25(documents_fts, 2.0, 1.0)`

// searchStopwords are left out of BM25 queries: they match most documents,
// add almost nothing to the ranking and make every search score the whole
// corpus ("how do we configure the key store").
var searchStopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by can do does for from has have how i in is it its
		me my of on or our that the this to was we were what when where which who why will with you your`) {
		searchStopwords[w] = true
	}
}

// FTSQuery turns free text into a safe FTS5 MATCH expression: every term is
// quoted (so quotes, operators, parentheses, colons and keywords like NOT or
// NEAR are just words) and terms are OR-ed, which is what BM25 retrieval
// wants. Stopwords are dropped unless the text has nothing else. It returns
// "" when the text has no searchable term.
func FTSQuery(text string) string {
	var b strings.Builder
	for _, t := range ftsTerms(text) {
		if b.Len() > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('"')
		b.WriteString(t) // only letters and digits: no quote to escape
		b.WriteByte('"')
	}
	return b.String()
}

// ftsTerms are the phrases of FTSQuery(text), in order: lower-cased words
// of letters and digits, each once, stopwords left out unless nothing else
// is left.
func ftsTerms(text string) []string {
	terms := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	content := false
	for _, t := range terms {
		content = content || !searchStopwords[strings.ToLower(t)]
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range terms {
		t = strings.ToLower(t)
		if seen[t] || (content && searchStopwords[t]) {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// ftsWord quotes one term (only letters and digits: no quote to escape).
func ftsWord(t string) string { return `"` + t + `"` }

// WordMatches are where one search word occurs as a whole word (after the
// indexes' stemming: "passwords" finds "password"): in which query texts,
// document titles and document bodies.
type WordMatches struct {
	Word    string
	Queries []int64 // query ids
	Titles  []int64 // document ids
	Bodies  []int64 // document ids
}

// MatchWords looks up each search term of text (see ftsTerms) in the
// full-text indexes of query texts and of document titles and bodies.
func (s *Store) MatchWords(ctx context.Context, text string) ([]WordMatches, error) {
	var out []WordMatches
	for _, t := range ftsTerms(text) {
		w := WordMatches{Word: t}
		var err error
		if w.Queries, err = ids(ctx, s.h, `SELECT rowid FROM queries_fts WHERE queries_fts MATCH ?`, ftsWord(t)); err != nil {
			return nil, err
		}
		if w.Titles, err = ids(ctx, s.h, `SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?`, `{title} : `+ftsWord(t)); err != nil {
			return nil, err
		}
		if w.Bodies, err = ids(ctx, s.h, `SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?`, `{body} : `+ftsWord(t)); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Search returns the top k documents for text by BM25 over title and body.
// Documents in exclude are left out (a query's seed, for hard negatives).
func (s *Store) Search(ctx context.Context, text string, k int, exclude ...int64) ([]Hit, error) {
	m := FTSQuery(text)
	if m == "" || k <= 0 {
		return nil, nil
	}
	// Rank and cut in the index first, then look up only the top rows:
	// joining before the sort reads a document row for every match.
	rows, err := s.h.QueryContext(ctx, `SELECT t.id, d.ext_id, t.score FROM
		(SELECT rowid AS id, -`+bm25Weights+` AS score FROM documents_fts WHERE documents_fts MATCH ? ORDER BY `+bm25Weights+` LIMIT ?) t
		JOIN documents d ON d.id = t.id ORDER BY t.score DESC`, m, k+len(exclude))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Hit
	for rows.Next() {
		var h Hit
		if err := rows.Scan(&h.DocID, &h.ExtID, &h.Score); err != nil {
			return nil, err
		}
		skip := false
		for _, e := range exclude {
			skip = skip || e == h.DocID
		}
		if !skip && len(out) < k {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// BM25Scores returns the BM25 score of each given document for text, equal
// to what -bm25(documents_fts, 2.0, 1.0) gives it; a document that does not
// match scores 0. Used to grade pairs that were not found by mining
// (imported pairs) with the same signal. The scores are computed from the
// listed documents alone (see bm25.go), so the cost does not grow with the
// number of documents in the corpus that match the query.
func (s *Store) BM25Scores(ctx context.Context, text string, docIDs []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(docIDs))
	terms := ftsTerms(text)
	if len(terms) == 0 || len(docIDs) == 0 {
		return out, nil
	}
	// Inside a transaction the index may hold changes FTS5 has not yet
	// written to its averages record: only FTS5 itself is exact there.
	if !s.inTx {
		rest, ok, err := s.candidateBM25(ctx, terms, docIDs, out)
		if err != nil {
			return nil, err
		}
		if ok {
			docIDs = rest
		}
	}
	return out, s.fts5BM25(ctx, FTSQuery(text), docIDs, out)
}

// fts5BM25 adds to out FTS5's own bm25() of each listed document that
// matches the MATCH expression m.
func (s *Store) fts5BM25(ctx context.Context, m string, docIDs []int64, out map[int64]float64) error {
	if len(docIDs) == 0 {
		return nil
	}
	// FTS5 runs a MATCH with `rowid IN (...)` once per listed id, and
	// bm25() recounts each term's documents every time: beyond a few ids one
	// scan of the matches, filtered here, is much cheaper.
	if len(docIDs) > 8 {
		want := make(map[int64]bool, len(docIDs))
		for _, id := range docIDs {
			want[id] = true
		}
		return s.bm25Rows(ctx, out, want, `SELECT rowid, -`+bm25Weights+` FROM documents_fts WHERE documents_fts MATCH ?`, m)
	}
	args := append([]any{m}, int64Args(docIDs)...)
	return s.bm25Rows(ctx, out, nil, `SELECT rowid, -`+bm25Weights+` FROM documents_fts WHERE documents_fts MATCH ? AND rowid IN (`+placeholders(len(docIDs))+`)`, args...)
}

// bm25Rows adds the (rowid, score) rows of q to out, only those in want
// when want is not nil.
func (s *Store) bm25Rows(ctx context.Context, out map[int64]float64, want map[int64]bool, q string, args ...any) error {
	rows, err := s.h.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sc float64
		if err := rows.Scan(&id, &sc); err != nil {
			return err
		}
		if want == nil || want[id] {
			out[id] = sc
		}
	}
	return rows.Err()
}
