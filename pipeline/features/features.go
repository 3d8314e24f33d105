// Package features turns a (query, document) pair into a fixed vector of
// lexical and structural features for the graders (the built-in lexical
// grader and the learned student).
//
// Everything is IDF-free (there are no corpus statistics here besides the
// BM25 score the store computed), deterministic, and cheap: Extract works on
// 64-bit token hashes in pooled scratch buffers, so in steady state it
// allocates nothing beyond growing dst. Proximity, phrase and position
// features look at the first BodyScanCap tokens of the body only; coverage
// and length still see the whole body, and the body_truncated feature says
// when the cap was hit.
//
// Terms: the query is tokenized (see Tokenize), stopwords are dropped, and the
// remaining distinct tokens are the query terms (at most MaxQueryTerms; the
// rest are ignored). "Stemmed" features compare light stems (see Stem).
package features

import (
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"
)

// Version names the feature set; a model trained on one version must not be
// used with another.
const Version = "features-v1"

// BodyScanCap is how many body tokens the proximity, phrase and position
// features scan.
const BodyScanCap = 2000

// MaxQueryTerms bounds the distinct query terms considered.
const MaxQueryTerms = 64

// Pair is one (query, document) pair with the retrieval context the store
// computed for it.
type Pair struct {
	Query                          string
	Title, Body, URL, Author, Type string
	Modified                       time.Time
	BM25                           float64 // BM25 score of the doc for this query (higher = better; 0 when it did not match)
	BM25Rank                       int     // 1-based rank among the query's candidate docs by BM25 (0 = unranked)
	BM25Max                        float64 // highest BM25 score among the query's candidate docs
	NCandidates                    int     // number of candidate docs of the query
}

// Feature indices, in the order Extract appends them. Each is documented.
const (
	// FBM25 is the raw BM25 score (0 when it did not match).
	FBM25 = iota
	// FBM25Log is log1p(max(BM25,0)).
	FBM25Log
	// FBM25Norm is BM25/BM25Max in [0,1] (0 when BM25Max <= 0).
	FBM25Norm
	// FBM25RecipRank is 1/BM25Rank (0 when unranked).
	FBM25RecipRank
	// FBM25RankFrac is BM25Rank/NCandidates in (0,1]; 1 when unranked.
	FBM25RankFrac
	// FCovTitle is the fraction of distinct query terms present in the title.
	FCovTitle
	// FCovBody is the fraction of distinct query terms present in the body.
	FCovBody
	// FCovTitleStem is FCovTitle on light stems.
	FCovTitleStem
	// FCovBodyStem is FCovBody on light stems.
	FCovBodyStem
	// FCovAnyStem is the fraction of stemmed query terms found in title or body.
	FCovAnyStem
	// FLongestRun is the longest run of consecutive query terms (in query
	// order, stemmed, stopwords skipped on both sides) found consecutively in
	// the body, divided by the number of query terms.
	FLongestRun
	// FMinWindow is m/span for the smallest body window (in non-stopword
	// tokens) that contains every stemmed query term matched in the scanned
	// body, m being how many distinct terms that is: 1 when they are adjacent,
	// near 0 when spread out, 0 when none matched.
	FMinWindow
	// FPhraseTitle is 1 when the whole query (all tokens, stopwords included,
	// unstemmed) occurs as a phrase in the title.
	FPhraseTitle
	// FPhraseBody is the same in the (scanned) body.
	FPhraseBody
	// FFirstPos is the position of the first body token that matches a query
	// term, divided by the number of scanned non-stopword body tokens; 1 when
	// none matches.
	FFirstPos
	// FLogDocLen is log1p of the number of body tokens (whole body).
	FLogDocLen
	// FQueryLen is the number of non-stopword query tokens.
	FQueryLen
	// FTermDensity is the fraction of scanned non-stopword body tokens that
	// match a (stemmed) query term.
	FTermDensity
	// FMetaAuthor is 1 when a query term equals a word of the author name.
	FMetaAuthor
	// FMetaURL is 1 when a query term equals a word of the URL (host,
	// folders, file name, extension).
	FMetaURL
	// FMetaType is 1 when a query term equals a word of the document type.
	FMetaType
	// FMetaDate is the fraction of the query's date parts (4-digit years
	// 1900-2099, English month names) that match Modified; 0 when the query
	// has none or Modified is zero.
	FMetaDate
	// FNumQuery is 1 when the query contains a number token.
	FNumQuery
	// FNumMatch is the fraction of the query's number tokens found in the
	// title or body (0 when it has none).
	FNumMatch
	// FBodyTruncated is 1 when the body has more than BodyScanCap tokens.
	FBodyTruncated
	// FCovAllStem is 1 when every stemmed query term occurs in the title or
	// body (a step the linear coverage fraction cannot express).
	FCovAllStem
	// FDocNumber is 1 when the body contains a number token.
	FDocNumber
	// FAnswerNumber is 1 when the query asks for a quantity ("how much /
	// many / long / old / far ...", "cost", "price", "number", "when", ...)
	// and the body contains a number token: the passage can hold the answer.
	FAnswerNumber
	numFeatures
)

var names = [numFeatures]string{
	FBM25:          "bm25",
	FBM25Log:       "bm25_log1p",
	FBM25Norm:      "bm25_norm",
	FBM25RecipRank: "bm25_recip_rank",
	FBM25RankFrac:  "bm25_rank_frac",
	FCovTitle:      "cov_title",
	FCovBody:       "cov_body",
	FCovTitleStem:  "cov_title_stem",
	FCovBodyStem:   "cov_body_stem",
	FCovAnyStem:    "cov_any_stem",
	FLongestRun:    "longest_run",
	FMinWindow:     "min_window",
	FPhraseTitle:   "phrase_title",
	FPhraseBody:    "phrase_body",
	FFirstPos:      "first_pos",
	FLogDocLen:     "log_doc_len",
	FQueryLen:      "query_len",
	FTermDensity:   "term_density",
	FMetaAuthor:    "meta_author",
	FMetaURL:       "meta_url",
	FMetaType:      "meta_type",
	FMetaDate:      "meta_date",
	FNumQuery:      "num_query",
	FNumMatch:      "num_match",
	FBodyTruncated: "body_truncated",
	FCovAllStem:    "cov_all_stem",
	FDocNumber:     "doc_number",
	FAnswerNumber:  "answer_number",
}

// NumFeatures is the length of a feature vector.
const NumFeatures = int(numFeatures)

// Names returns the stable feature names, in Extract's order.
func Names() []string {
	out := make([]string, len(names))
	copy(out, names[:])
	return out
}

// scratch holds the reusable buffers of one Extract call.
type scratch struct {
	buf      []byte
	qFull    []uint64 // all query token hashes in order (phrase)
	qExact   []uint64 // distinct non-stop query term hashes
	qStem    []uint64 // distinct stems of the query terms
	qSeq     []int    // non-stop query tokens in order, as qStem indices
	qNum     uint64   // bitmask over qExact: number tokens
	bodyFull []uint64 // scanned body token hashes (phrase)
	bodySeq  []int    // scanned non-stop body tokens as qStem index or -1
	run      []int    // DP row for the longest run
	runPrev  []int
	count    [MaxQueryTerms]int32
}

var pool = sync.Pool{New: func() any {
	return &scratch{
		buf:      make([]byte, 0, 64),
		bodyFull: make([]uint64, 0, 256),
		bodySeq:  make([]int, 0, 256),
	}
}}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december"}

var monthHash = func() (h [12]uint64) {
	for i, m := range monthNames {
		h[i] = hashBytes([]byte(m))
	}
	return
}()

// quantityWords are query words asking for a number on their own; howWords
// do so after "how" ("how long").
var quantityWords = hashSet("much many cost costs price prices number numbers when year years age salary percent percentage rate temperature population distance weight height size amount calories")
var howWords = hashSet("much many long old far big tall large often fast high deep heavy wide")
var hashHow = hashBytes([]byte("how"))

func hashSet(words string) map[uint64]struct{} {
	m := map[uint64]struct{}{}
	for _, w := range strings.Fields(words) {
		m[hashBytes([]byte(w))] = struct{}{}
	}
	return m
}

func indexOf(list []uint64, h uint64) int {
	for i, v := range list {
		if v == h {
			return i
		}
	}
	return -1
}

// textScan is what scanning one text against the query terms yields.
type textScan struct {
	exact, stem uint64 // bitmasks over qExact / qStem of terms present
	tokens      int
	number      bool // a token is all digits
}

// Extract appends the features of p to dst (in Names order) and returns it.
func Extract(p Pair, dst []float64) []float64 {
	s := pool.Get().(*scratch)
	defer pool.Put(s)

	// ---- query ----
	s.qFull, s.qExact, s.qStem, s.qSeq = s.qFull[:0], s.qExact[:0], s.qStem[:0], s.qSeq[:0]
	s.qNum = 0
	var years [4]int
	var months [4]int
	nYears, nMonths, hasMay := 0, 0, false
	quantity, prevHow := false, false
	for i := 0; ; {
		tok, next, ok := nextToken(p.Query, i, s.buf)
		if !ok {
			break
		}
		s.buf, i = tok, next
		h := hashBytes(tok)
		if _, ok := quantityWords[h]; ok {
			quantity = true
		}
		if prevHow {
			if _, ok := howWords[h]; ok {
				quantity = true
			}
		}
		prevHow = h == hashHow
		s.qFull = append(s.qFull, h)
		if len(tok) == 4 && isDigits(tok) && (tok[0] == '1' && tok[1] == '9' || tok[0] == '2' && tok[1] == '0') && nYears < len(years) {
			years[nYears] = int(tok[0]-'0')*1000 + int(tok[1]-'0')*100 + int(tok[2]-'0')*10 + int(tok[3]-'0')
			nYears++
		}
		for m, mh := range monthHash {
			if h == mh && nMonths < len(months) {
				if m == 4 {
					hasMay = true
				}
				months[nMonths] = m + 1
				nMonths++
			}
		}
		if isStopHash(h) {
			continue
		}
		ei := indexOf(s.qExact, h)
		if ei < 0 {
			if len(s.qExact) >= MaxQueryTerms {
				continue
			}
			ei = len(s.qExact)
			s.qExact = append(s.qExact, h)
			if isDigits(tok) {
				s.qNum |= 1 << uint(ei)
			}
		}
		sh := hashBytes(stem(tok))
		si := indexOf(s.qStem, sh)
		if si < 0 {
			si = len(s.qStem)
			s.qStem = append(s.qStem, sh)
		}
		s.qSeq = append(s.qSeq, si)
	}
	if hasMay && nYears == 0 {
		// "may" without a year is far more often the verb than the month.
		k := 0
		for _, m := range months[:nMonths] {
			if m != 5 {
				months[k] = m
				k++
			}
		}
		nMonths = k
	}
	nExact, nStem := len(s.qExact), len(s.qStem)

	// ---- title ----
	title := s.scanText(p.Title, false)
	phraseTitle := 0.0
	if len(s.qFull) > 0 && containsSeq(s.bodyFull, s.qFull) {
		phraseTitle = 1
	}

	// ---- body ----
	body := s.scanText(p.Body, true)
	phraseBody := 0.0
	if len(s.qFull) > 0 && containsSeq(s.bodyFull, s.qFull) {
		phraseBody = 1
	}

	// proximity: longest run (DP over body x query sequence)
	longest := 0
	firstPos := -1
	matchedTok := 0
	var capStem uint64
	if L := len(s.qSeq); L > 0 {
		s.run = growInts(s.run, L+1)
		s.runPrev = growInts(s.runPrev, L+1)
		prev, cur := s.runPrev, s.run
		for j := range prev {
			prev[j] = 0
		}
		for i, si := range s.bodySeq {
			cur[0] = 0
			if si >= 0 {
				matchedTok++
				capStem |= 1 << uint(si)
				if firstPos < 0 {
					firstPos = i
				}
			}
			for j := 1; j <= L; j++ {
				if si >= 0 && s.qSeq[j-1] == si {
					cur[j] = prev[j-1] + 1
					if cur[j] > longest {
						longest = cur[j]
					}
				} else {
					cur[j] = 0
				}
			}
			prev, cur = cur, prev
		}
	}
	minWindow := 0.0
	if need := bits.OnesCount64(capStem); need > 0 {
		minWindow = float64(need) / float64(s.minSpan(need))
	}

	// ---- metadata ----
	metaAuthor := s.metaMatch(p.Author)
	metaURL := s.metaMatch(p.URL)
	metaType := s.metaMatch(p.Type)
	metaDate := 0.0
	if (nYears > 0 || nMonths > 0) && !p.Modified.IsZero() {
		hit := 0
		for _, y := range years[:nYears] {
			if y == p.Modified.Year() {
				hit++
			}
		}
		for _, m := range months[:nMonths] {
			if m == int(p.Modified.Month()) {
				hit++
			}
		}
		metaDate = float64(hit) / float64(nYears+nMonths)
	}
	numQuery, numMatch := 0.0, 0.0
	if s.qNum != 0 {
		numQuery = 1
		numMatch = float64(bits.OnesCount64((title.exact|body.exact)&s.qNum)) / float64(bits.OnesCount64(s.qNum))
	}

	// ---- assemble ----
	bm := p.BM25
	bmLog := math.Log1p(math.Max(bm, 0))
	bmNorm := 0.0
	if p.BM25Max > 0 {
		bmNorm = clamp01(bm / p.BM25Max)
	}
	rr, rankFrac := 0.0, 1.0
	if p.BM25Rank > 0 {
		rr = 1 / float64(p.BM25Rank)
		if p.NCandidates > 0 {
			rankFrac = clamp01(float64(p.BM25Rank) / float64(p.NCandidates))
		}
	}
	fp := 1.0
	if firstPos >= 0 {
		fp = float64(firstPos) / float64(len(s.bodySeq))
	}
	density := 0.0
	if len(s.bodySeq) > 0 {
		density = float64(matchedTok) / float64(len(s.bodySeq))
	}
	runFrac := 0.0
	if len(s.qSeq) > 0 {
		runFrac = float64(longest) / float64(len(s.qSeq))
	}
	truncated := 0.0
	if body.tokens > BodyScanCap {
		truncated = 1
	}
	covAll, docNum, ansNum := 0.0, 0.0, 0.0
	if nStem > 0 && bits.OnesCount64(title.stem|body.stem) == nStem {
		covAll = 1
	}
	if body.number {
		docNum = 1
		if quantity {
			ansNum = 1
		}
	}

	dst = append(dst,
		bm, bmLog, bmNorm, rr, rankFrac,
		frac(title.exact, nExact), frac(body.exact, nExact),
		frac(title.stem, nStem), frac(body.stem, nStem), frac(title.stem|body.stem, nStem),
		runFrac, minWindow, phraseTitle, phraseBody, fp,
		math.Log1p(float64(body.tokens)), float64(len(s.qSeq)), density,
		metaAuthor, metaURL, metaType, metaDate, numQuery, numMatch, truncated,
		covAll, docNum, ansNum,
	)
	return dst
}

// scanText tokenizes text, marks which query terms it contains, and leaves
// the first BodyScanCap token hashes in s.bodyFull (and, when seq is set, the
// non-stopword tokens as query stem indices in s.bodySeq).
func (s *scratch) scanText(text string, seq bool) textScan {
	var r textScan
	s.bodyFull = s.bodyFull[:0]
	s.bodySeq = s.bodySeq[:0]
	if len(s.qExact) == 0 && len(s.qFull) == 0 {
		// nothing to match: only count tokens
		for i := 0; ; {
			tok, next, ok := nextToken(text, i, s.buf)
			if !ok {
				return r
			}
			s.buf, i = tok, next
			r.tokens++
			if !r.number && isDigits(tok) {
				r.number = true
			}
		}
	}
	for i := 0; ; {
		tok, next, ok := nextToken(text, i, s.buf)
		if !ok {
			return r
		}
		s.buf, i = tok, next
		r.tokens++
		if !r.number && isDigits(tok) {
			r.number = true
		}
		h := hashBytes(tok)
		inCap := r.tokens <= BodyScanCap
		if inCap {
			s.bodyFull = append(s.bodyFull, h)
		}
		if isStopHash(h) {
			continue
		}
		if ei := indexOf(s.qExact, h); ei >= 0 {
			r.exact |= 1 << uint(ei)
		}
		si := indexOf(s.qStem, hashBytes(stem(tok)))
		if si >= 0 {
			r.stem |= 1 << uint(si)
		}
		if seq && inCap {
			s.bodySeq = append(s.bodySeq, si)
		}
	}
}

// minSpan returns the length of the smallest window of s.bodySeq containing
// every query stem present in it (need distinct ones).
func (s *scratch) minSpan(need int) int {
	for i := range s.count {
		s.count[i] = 0
	}
	best := len(s.bodySeq)
	have, left := 0, 0
	for right, si := range s.bodySeq {
		if si < 0 {
			continue
		}
		if s.count[si] == 0 {
			have++
		}
		s.count[si]++
		for have == need {
			for s.bodySeq[left] < 0 {
				left++
			}
			if span := right - left + 1; span < best {
				best = span
			}
			li := s.bodySeq[left]
			s.count[li]--
			if s.count[li] == 0 {
				have--
			}
			left++
		}
	}
	return best
}

// metaMatch is 1 when a query term equals a token of text.
func (s *scratch) metaMatch(text string) float64 {
	if len(s.qExact) == 0 {
		return 0
	}
	for i := 0; ; {
		tok, next, ok := nextToken(text, i, s.buf)
		if !ok {
			return 0
		}
		s.buf, i = tok, next
		if indexOf(s.qExact, hashBytes(tok)) >= 0 {
			return 1
		}
	}
}

func containsSeq(hay, needle []uint64) bool {
	n := len(needle)
outer:
	for i := 0; i+n <= len(hay); i++ {
		for j := 0; j < n; j++ {
			if hay[i+j] != needle[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

func frac(mask uint64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(bits.OnesCount64(mask)) / float64(n)
}

func clamp01(x float64) float64 {
	switch {
	case x < 0 || math.IsNaN(x):
		return 0
	case x > 1:
		return 1
	}
	return x
}

func growInts(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}
