package store

import (
	"bytes"
	"context"
	"math"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Candidate-only BM25.
//
// The in-process graders need the BM25 score of a few (query, document)
// pairs. Asking FTS5 for bm25() of a pair means asking it to score every
// document that matches the query (its IDF is recounted per statement, and a
// `rowid IN (…)` list re-runs the match once per id), which on a million
// documents is most of the grading time. But the BM25 of one pair needs only
// the corpus statistics (row count, average length, each term's document
// count) and that one document's term frequencies. So the score is computed
// here, from the document's own text, exactly as fts5Bm25Function does:
//
//	score = Σ_phrases idf(p) · f(p,D)·(k1+1) / (f(p,D) + k1·(1 − b + b·|D|/avgdl))
//
// with f the column-weighted count of the phrase's token in the row (title
// 2.0, body 1.0), |D| the row's token count, avgdl and the row count from
// FTS5's averages record, idf = ln((N − n + 0.5)/(n + 0.5)) floored at 1e-6,
// k1 = 1.2, b = 0.75.
//
// Tokens are produced by a Go copy of FTS5's `porter unicode61` tokenizer
// for ASCII text (porter.go). Anything it cannot reproduce for certain goes
// to FTS5 itself: a query term with a non-ASCII letter sends the whole query
// to FTS5, and a document is scored by FTS5 when its text has a non-ASCII
// letter, digit or mark, or when its token counts differ from the ones FTS5
// stored for it (documents_fts_docsize). TestCandidateBM25MatchesFTS5 checks
// the result against bm25() on the demo corpus and on real passages.

const (
	bm25K1          = 1.2
	bm25B           = 0.75
	bm25TitleWeight = 2.0 // must match bm25Weights
	bm25BodyWeight  = 1.0
)

// bm25Corpus caches, per workspace file, what is shared by every pair: the
// corpus statistics and the document count of each token seen so far. It
// is valid for one state of the FTS5 index, identified by the index's
// structure and averages records, which every write to it changes.
type bm25Corpus struct {
	mu        sync.Mutex
	key       []byte // structure record + averages record of the cached state
	nRow      int64
	avgdl     float64
	termDocs  map[string]int64   // token -> documents containing it
	termMax   map[string]float64 // term -> its highest bm25() alone (see maxScoreSearch)
	stemCache map[string]string
}

var bm25Corpora sync.Map // absolute workspace path -> *bm25Corpus

func bm25CorpusFor(path string) *bm25Corpus {
	return perWorkspace(&bm25Corpora, path, func(string) *bm25Corpus { return &bm25Corpus{} })
}

// The FTS5 shadow table rows that describe the index as a whole.
const (
	fts5AveragesRowid  = 1
	fts5StructureRowid = 10
)

// candidateBM25 scores docIDs for the query terms; docs it cannot score
// exactly are returned in rest, for FTS5. ok is false when the query itself
// needs FTS5.
func (s *Store) candidateBM25(ctx context.Context, terms []string, docIDs []int64, out map[int64]float64) (rest []int64, ok bool, err error) {
	c := bm25CorpusFor(s.path)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refresh(ctx, s.h); err != nil {
		return nil, false, err
	}
	sc, ok, err := c.scorer(ctx, s.h, terms)
	if err != nil || !ok || sc == nil {
		return nil, ok, err
	}
	rows, err := s.h.QueryContext(ctx, `SELECT d.id, d.title, d.body, z.sz FROM documents d
		JOIN documents_fts_docsize z ON z.id = d.id WHERE d.id IN (`+placeholders(len(docIDs))+`)`, int64Args(docIDs)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	found := make(map[int64]bool, len(docIDs))
	for rows.Next() {
		var id int64
		var title, body string
		var sz []byte
		if err := rows.Scan(&id, &title, &body, &sz); err != nil {
			return nil, false, err
		}
		found[id] = true
		rest = sc.scoreInto(id, title, body, sz, out, rest)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for _, id := range docIDs {
		if !found[id] {
			rest = append(rest, id) // no docsize row: let FTS5 say
		}
	}
	return rest, true, nil
}

// bm25Scorer scores documents for one query's terms in the corpus state
// its bm25Corpus was refreshed to. It uses the corpus' caches: c.mu must be
// held while it is used.
type bm25Scorer struct {
	c     *bm25Corpus
	stems []string
	idf   []float64
	freq  []float64
}

// scorer prepares the scoring of terms (c.mu held, c refreshed). ok is false
// when a term needs FTS5; a nil scorer with ok means nothing matches (an
// empty corpus).
func (c *bm25Corpus) scorer(ctx context.Context, h handle, terms []string) (*bm25Scorer, bool, error) {
	stems := make([]string, len(terms))
	for i, t := range terms {
		f, ok := foldTerm(t)
		if !ok {
			return nil, false, nil
		}
		stems[i] = c.stem(f)
	}
	if c.nRow == 0 {
		return nil, true, nil // no document: nothing matches
	}
	idf := make([]float64, len(stems))
	for i, st := range stems {
		var err error
		if idf[i], _, err = c.idf(ctx, h, terms[i], st); err != nil {
			return nil, false, err
		}
	}
	return &bm25Scorer{c: c, stems: stems, idf: idf, freq: make([]float64, len(stems))}, true, nil
}

// scoreInto is the candidate-only BM25 of document id, put in out when the
// document matches; when only FTS5 can score it exactly (no docsize row, sz
// nil, or see score) its id is appended to rest instead. Both callers —
// BM25Scores' and in-process grading's — decide a candidate here.
func (sc *bm25Scorer) scoreInto(id int64, title, body string, sz []byte, out map[int64]float64, rest []int64) []int64 {
	if sz == nil {
		return append(rest, id)
	}
	score, matched, exact := sc.score(title, body, sz)
	switch {
	case !exact:
		return append(rest, id)
	case matched:
		out[id] = score
	}
	return rest
}

// score is the BM25 of a document from its title, body and FTS5 docsize
// record sz; matched is false when no term occurs in it, exact false when
// only FTS5 can score it (see countTokens, and a token count that differs
// from the one FTS5 stored).
func (sc *bm25Scorer) score(title, body string, sz []byte) (score float64, matched, exact bool) {
	sizes, okSz := fts5Varints(sz, 2)
	clear(sc.freq)
	nTitle, okT := sc.c.countTokens(title, sc.stems, sc.freq, bm25TitleWeight)
	nBody, okB := sc.c.countTokens(body, sc.stems, sc.freq, bm25BodyWeight)
	if !okSz || !okT || !okB || nTitle != sizes[0] || nBody != sizes[1] {
		return 0, false, false
	}
	D := float64(nTitle + nBody)
	for i, f := range sc.freq {
		matched = matched || f > 0
		score += sc.idf[i] * ((f * (bm25K1 + 1.0)) / (f + bm25K1*(1-bm25B+bm25B*D/sc.c.avgdl)))
	}
	return score, matched, true
}

// refresh drops the cache when the index has changed since it was filled.
func (c *bm25Corpus) refresh(ctx context.Context, h handle) error {
	var avg, structure []byte
	err := h.QueryRowContext(ctx, `SELECT (SELECT block FROM documents_fts_data WHERE id = ?), (SELECT block FROM documents_fts_data WHERE id = ?)`,
		fts5AveragesRowid, fts5StructureRowid).Scan(&avg, &structure)
	if err != nil {
		return err
	}
	key := append(append([]byte{}, structure...), avg...)
	if c.termDocs != nil && bytes.Equal(key, c.key) {
		return nil
	}
	c.key, c.termDocs, c.termMax, c.nRow, c.avgdl = key, map[string]int64{}, map[string]float64{}, 0, 0
	if c.stemCache == nil {
		c.stemCache = map[string]string{}
	}
	// The averages record: the row count, then each column's total tokens.
	if len(avg) == 0 {
		return nil
	}
	v, ok := fts5Varints(avg, 3)
	if !ok {
		return nil
	}
	c.nRow = v[0]
	if c.nRow > 0 {
		c.avgdl = float64(v[1]+v[2]) / float64(c.nRow)
	}
	return nil
}

// idf is the IDF bm25() gives term (of token stem), and the number of
// documents holding it: ln((N − n + 0.5)/(n + 0.5)), floored at 1e-6.
func (c *bm25Corpus) idf(ctx context.Context, h handle, term, stem string) (float64, int64, error) {
	n, err := c.docsWith(ctx, h, term, stem)
	if err != nil {
		return 0, 0, err
	}
	v := math.Log((float64(c.nRow) - float64(n) + 0.5) / (float64(n) + 0.5))
	if v <= 0 {
		v = 1e-6
	}
	return v, n, nil
}

// docsWith is the number of documents containing term, counted by FTS5
// itself (as bm25() counts it: the rows matching the phrase).
func (c *bm25Corpus) docsWith(ctx context.Context, h handle, term, stem string) (int64, error) {
	if n, ok := c.termDocs[stem]; ok {
		return n, nil
	}
	var n int64
	if err := h.QueryRowContext(ctx, `SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?`, `"`+term+`"`).Scan(&n); err != nil {
		return 0, err
	}
	c.termDocs[stem] = n
	return n, nil
}

func (c *bm25Corpus) stem(tok string) string {
	if st, ok := c.stemCache[tok]; ok {
		return st
	}
	st := porterStem(tok)
	if len(c.stemCache) < 1<<20 {
		c.stemCache[tok] = st
	}
	return st
}

// countTokens tokenizes text as FTS5's unicode61 tokenizer does for ASCII,
// adding weight to freq[i] for each token equal to stems[i]. It returns the
// number of tokens, and false when the text has a character whose
// tokenization only FTS5 knows for sure (a non-ASCII letter, digit or mark).
func (c *bm25Corpus) countTokens(text string, stems []string, freq []float64, weight float64) (int64, bool) {
	var n int64
	var tok []byte
	flush := func() {
		if len(tok) == 0 {
			return
		}
		n++
		// The map lookup by string(tok) does not allocate: only a token
		// not seen before is copied.
		st, ok := c.stemCache[string(tok)]
		if !ok {
			st = c.stem(string(tok))
		}
		for i, s := range stems {
			if s == st {
				freq[i] += weight
			}
		}
		tok = tok[:0]
	}
	for i := 0; i < len(text); {
		b := text[i]
		if b < utf8.RuneSelf {
			switch {
			case 'a' <= b && b <= 'z', '0' <= b && b <= '9':
				tok = append(tok, b)
			case 'A' <= b && b <= 'Z':
				tok = append(tok, b+'a'-'A')
			default:
				flush()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if a, ok := latin1Fold[r]; ok {
			tok = append(tok, a) // remove_diacritics folds é to e
			i += size
			continue
		}
		if r == utf8.RuneError || unicode.In(r, unicode.L, unicode.N, unicode.M, unicode.Co) {
			return n, false
		}
		flush() // punctuation, spaces, symbols and controls separate tokens
		i += size
	}
	flush()
	return n, true
}

// foldTerm is a query term as the tokenizer folds it, and false when only
// FTS5 can say (a letter outside ASCII and the Latin-1 letters with one
// diacritic).
func foldTerm(t string) (string, bool) {
	if t == "" {
		return "", false
	}
	b := make([]byte, 0, len(t))
	for _, r := range t {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			b = append(b, byte(r))
		case latin1Fold[r] != 0:
			b = append(b, latin1Fold[r])
		default:
			return "", false
		}
	}
	return string(b), true
}

// latin1Fold is what unicode61 with remove_diacritics makes of the Latin-1
// letters that are an ASCII letter with one diacritic (upper case folded
// too). Letters without such a decomposition (ß, æ, ø, ð, þ) are not here:
// text holding them is scored by FTS5.
var latin1Fold = func() map[rune]byte {
	m := map[rune]byte{}
	for base, letters := range map[byte]string{
		'a': "àáâãäåÀÁÂÃÄÅ", 'c': "çÇ", 'e': "èéêëÈÉÊË", 'i': "ìíîïÌÍÎÏ", 'n': "ñÑ",
		'o': "òóôõöÒÓÔÕÖ", 'u': "ùúûüÙÚÛÜ", 'y': "ýÿÝ",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// fts5Varints decodes the first n SQLite varints of b (the format of FTS5's
// averages and docsize records).
func fts5Varints(b []byte, n int) ([]int64, bool) {
	out := make([]int64, 0, n)
	for len(out) < n {
		v, k := sqliteVarint(b)
		if k == 0 {
			return nil, false
		}
		out = append(out, int64(v))
		b = b[k:]
	}
	return out, true
}

// sqliteVarint decodes one SQLite varint: big-endian groups of 7 bits with
// the high bit set on all but the last byte, the ninth byte giving 8 bits.
func sqliteVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 9 && i < len(b); i++ {
		if i == 8 {
			return v<<8 | uint64(b[i]), 9
		}
		v = v<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
