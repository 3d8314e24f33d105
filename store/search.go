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

// FTSQuery turns free text into a safe FTS5 MATCH expression: every term is
// quoted (so quotes, operators, parentheses, colons and keywords like NOT or
// NEAR are just words) and terms are OR-ed, which is what BM25 retrieval
// wants. It returns "" when the text has no searchable term.
func FTSQuery(text string) string {
	terms := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	seen := map[string]bool{}
	var b strings.Builder
	for _, t := range terms {
		t = strings.ToLower(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		if b.Len() > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('"')
		b.WriteString(t) // only letters and digits: no quote to escape
		b.WriteByte('"')
	}
	return b.String()
}

// Search returns the top k documents for text by BM25 over title and body.
// Documents in exclude are left out (a query's seed, for hard negatives).
func (s *Store) Search(ctx context.Context, text string, k int, exclude ...int64) ([]Hit, error) {
	m := FTSQuery(text)
	if m == "" || k <= 0 {
		return nil, nil
	}
	rows, err := s.h.QueryContext(ctx, `SELECT f.rowid, d.ext_id, -`+bm25Weights+` FROM documents_fts f JOIN documents d ON d.id = f.rowid
		WHERE documents_fts MATCH ? ORDER BY `+bm25Weights+` LIMIT ?`, m, k+len(exclude))
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

// BM25Scores returns the BM25 score of each given document for text; a
// document that does not match scores 0. Used to grade pairs that were not
// found by mining (imported pairs) with the same signal.
func (s *Store) BM25Scores(ctx context.Context, text string, docIDs []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(docIDs))
	m := FTSQuery(text)
	if m == "" || len(docIDs) == 0 {
		return out, nil
	}
	const chunk = 500
	for start := 0; start < len(docIDs); start += chunk {
		ids := docIDs[start:min(start+chunk, len(docIDs))]
		args := []any{m}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := s.h.QueryContext(ctx, `SELECT rowid, -`+bm25Weights+` FROM documents_fts WHERE documents_fts MATCH ? AND rowid IN (`+placeholders(len(ids))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var sc float64
			if err := rows.Scan(&id, &sc); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = sc
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
