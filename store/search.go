package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
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

// Search returns the top k documents for text by BM25 over title and body,
// best first, ties by document id. Documents in exclude are left out (a
// query's seed, for hard negatives).
//
// FTS5's `ORDER BY rank LIMIT k` scores every document that matches any
// term, which for a query holding a common word is most of the corpus. A
// query of several terms is first tried by MaxScore (maxScoreSearch),
// which lets FTS5 score only the documents of its rare terms and gives the
// same documents in the same order, with scores equal to FTS5's to 1e-9
// (TestTopKMethodsAgree): 3–5 times less CPU on the zipf benchmark queries
// (BenchmarkSearchTop10). Inside a transaction, where the index may hold
// changes FTS5 has not yet written to its statistics, FTS5 ranks alone.
func (s *Store) Search(ctx context.Context, text string, k int, exclude ...int64) ([]Hit, error) {
	terms := ftsTerms(text)
	if len(terms) == 0 || k <= 0 {
		return nil, nil
	}
	if len(terms) > 1 && !s.inTx {
		hits, ok, err := s.maxScoreSearch(ctx, terms, text, k, exclude)
		if err != nil || ok {
			return hits, err
		}
	}
	return s.searchFTS5(ctx, text, k, exclude...)
}

// searchFTS5 is Search by FTS5's `ORDER BY rank LIMIT k` alone.
func (s *Store) searchFTS5(ctx context.Context, text string, k int, exclude ...int64) ([]Hit, error) {
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
		if !slices.Contains(exclude, h.DocID) && len(out) < k {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// maxScoreSearch is Search by MaxScore over per-term upper bounds, with
// FTS5 scoring only the rare ("essential") terms, and false when FTS5 must
// rank the whole query itself (see Search).
//
// A term's contribution to a document's BM25 is idf·f·(k1+1)/(f + …),
// always below idf·(k1+1) and at most its highest score alone. Taking the
// query's terms rarest first, let E be the first j of them and B the sum
// of the other terms' bounds. FTS5 ranks the documents matching E by E's
// part of the score alone (the same per-phrase terms bm25() sums over the
// whole query). If the K-th of those, θ, is above B, no document matching
// none of E can reach the top K (its score is below B), and a document
// matching E whose E-part plus B is at most the K-th full score found so
// far cannot either: documents are rescored from their text
// (candidateBM25, equal to bm25() to 1e-9) in the order of their E-part
// until that holds. Otherwise j grows, while it still spares FTS5 most of
// the work. Every step reads one snapshot of the workspace.
func (s *Store) maxScoreSearch(ctx context.Context, terms []string, text string, k int, exclude []int64) ([]Hit, bool, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil { // deferred: a read snapshot, no lock
		return nil, false, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
	snap := *s
	snap.h = conn
	s = &snap
	K := k + len(exclude)
	idf, docs, ok, err := s.termIDFs(ctx, terms)
	if err != nil || !ok {
		return nil, false, err
	}
	order := make([]int, len(terms))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return idf[order[a]] > idf[order[b]] })
	for j := 1; j < len(terms); j++ {
		ess := make([]bool, len(terms))
		for _, i := range order[:j] {
			ess[i] = true
		}
		var bound float64
		var essDocs, restDocs int64
		var phrases []string
		for i, t := range terms {
			if ess[i] {
				phrases = append(phrases, ftsWord(t))
				essDocs += docs[i]
			} else {
				bound += idf[i] * (bm25K1 + 1)
				restDocs += docs[i]
			}
		}
		// FTS5 scores every document matching a term, and rescoring one
		// from its text costs about as much as FTS5 scoring ten: unless
		// leaving the other terms out spares FTS5 many times the documents
		// it still scores (a few thousand at least), ranking E and then
		// rescoring is no cheaper.
		if restDocs < max(maxScoreMinRatio*essDocs, maxScoreMinSaving) {
			break
		}
		// The bound of a term that holds in any document, without reading
		// one, is idf·(k1+1); its highest score alone is lower (much lower
		// for a term that is never frequent in a short document) but costs
		// FTS5 scoring its documents once per index state, so it is asked
		// for only when the first bound is too loose.
		tighten := func() (float64, error) {
			b := 0.0
			for i, t := range terms {
				if ess[i] {
					continue
				}
				if idf[i] < 1e-5 { // the floor: nothing to gain
					b += idf[i] * (bm25K1 + 1)
					continue
				}
				m, err := s.termMaxScore(ctx, t)
				if err != nil {
					return 0, err
				}
				b += m + 1e-9 // rounding: it is summed in another order here
			}
			return b, nil
		}
		top, ok, err := s.maxScoreTop(ctx, text, strings.Join(phrases, " OR "), bound, tighten, K)
		if err != nil || !ok {
			if err != nil {
				return nil, false, err
			}
			continue
		}
		hits, err := s.hits(ctx, top, k, exclude)
		return hits, err == nil, err
	}
	return nil, false, nil
}

// maxScoreMinSaving is the fewest documents that leaving the non-essential
// terms to the bound must spare FTS5 from scoring.
const maxScoreMinSaving = 2000

// maxScoreMinRatio is how many times the documents FTS5 still scores
// (those of the essential terms) it must be spared.
const maxScoreMinRatio = 8

// maxScoreTop is the top K for text when the documents matching the
// essential terms (the MATCH expression ess) hold it, and false when they
// do not: fewer than K match, or the K-th best essential part is not above
// bound, the most the other terms can add. Documents are rescored in the
// order of their essential part, read as FTS5 ranks them, and the reading
// stops at the first whose essential part plus bound cannot reach the K-th
// full score so far (nor can any after it).
func (s *Store) maxScoreTop(ctx context.Context, text, ess string, bound float64, tighten func() (float64, error), K int) ([]scoredRow, bool, error) {
	const eps = 1e-9
	rows, err := s.h.QueryContext(ctx, `SELECT rowid, -`+bm25Weights+` FROM documents_fts WHERE documents_fts MATCH ? ORDER BY `+bm25Weights, ess)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var top []scoredRow // full scores, best first (then by rowid)
	var next []scoredRow
	batch := max(K, 32)
	flush := func() error {
		ids := make([]int64, len(next))
		for i, c := range next {
			ids[i] = c.id
		}
		full, err := s.BM25Scores(ctx, text, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			top = append(top, scoredRow{id, full[id]})
		}
		sort.Slice(top, func(a, b int) bool {
			if top[a].score != top[b].score {
				return top[a].score > top[b].score
			}
			return top[a].id < top[b].id
		})
		top = top[:min(len(top), K)]
		next, batch = next[:0], 2*batch
		return nil
	}
	n := 0
	for rows.Next() {
		var c scoredRow
		if err := rows.Scan(&c.id, &c.score); err != nil {
			return nil, false, err
		}
		if n++; n == K && c.score-eps <= bound {
			if bound, err = tighten(); err != nil {
				return nil, false, err
			}
			if c.score-eps <= bound {
				return nil, false, nil // K-th essential part too low: E must grow
			}
		}
		if len(top) >= K && c.score <= top[K-1].score-bound-eps {
			break
		}
		next = append(next, c)
		if len(next) >= batch && n >= K {
			if err := flush(); err != nil {
				return nil, false, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if n < K {
		return nil, false, nil // fewer than K documents match E
	}
	if err := flush(); err != nil { // the documents before the one that stopped it
		return nil, false, err
	}
	return top, true, nil
}

type scoredRow struct {
	id    int64
	score float64
}

// termIDFs are the IDFs bm25() gives the terms, and false when only FTS5
// can tokenize one of them.
func (s *Store) termIDFs(ctx context.Context, terms []string) (idf []float64, docs []int64, ok bool, err error) {
	c := bm25CorpusFor(s.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx, s.h); err != nil {
		return nil, nil, false, err
	}
	if c.nRow == 0 {
		return nil, nil, false, nil
	}
	idf, docs = make([]float64, len(terms)), make([]int64, len(terms))
	for i, t := range terms {
		f, ok := foldTerm(t)
		if !ok {
			return nil, nil, false, nil
		}
		if idf[i], docs[i], err = c.idf(ctx, s.h, t, c.stem(f)); err != nil {
			return nil, nil, false, err
		}
	}
	return idf, docs, true, nil
}

// termMaxScore is the highest bm25() of term alone in any document: the
// most it adds to a document's score for a query holding it.
func (s *Store) termMaxScore(ctx context.Context, term string) (float64, error) {
	f, _ := foldTerm(term)
	c := bm25CorpusFor(s.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx, s.h); err != nil {
		return 0, err
	}
	st := c.stem(f)
	if m, ok := c.termMax[st]; ok {
		return m, nil
	}
	var m float64 // 0 when no document holds it
	err := s.h.QueryRowContext(ctx, `SELECT -`+bm25Weights+` FROM documents_fts WHERE documents_fts MATCH ? ORDER BY `+bm25Weights+` LIMIT 1`, ftsWord(term)).Scan(&m)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	c.termMax[st] = m
	return m, nil
}

// hits looks up the ext ids of top (best first) and leaves out exclude.
func (s *Store) hits(ctx context.Context, top []scoredRow, k int, exclude []int64) ([]Hit, error) {
	ids := make([]int64, len(top))
	for i, t := range top {
		ids[i] = t.id
	}
	ext := map[int64]string{}
	rows, err := s.h.QueryContext(ctx, `SELECT id, ext_id FROM documents WHERE id IN (`+placeholders(len(ids))+`)`, int64Args(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var e string
		if err := rows.Scan(&id, &e); err != nil {
			return nil, err
		}
		ext[id] = e
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Hit
	for _, t := range top {
		if !slices.Contains(exclude, t.id) && len(out) < k {
			out = append(out, Hit{DocID: t.id, ExtID: ext[t.id], Score: t.score})
		}
	}
	return out, nil
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
