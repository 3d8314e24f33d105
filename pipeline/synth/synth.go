// Package synth writes search queries from seed documents.
//
// The method asks an LLM to write realistic enterprise queries for a seed
// document. This package holds the model-free part: Offline, an extractive
// synthesizer that builds keyword, person, file and natural-language
// queries from the seed's title, body, author, path and metadata, weighted
// by TF-IDF salience, so that the pipeline runs without any model. It also
// holds the helpers every synthesizer shares: Tokenize and Dedup.
package synth

import (
	"hash/fnv"
	"math"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Seed is a document that queries are written for.
type Seed struct {
	ID, Title, Text, Author, Type, URL string
	Modified                           time.Time
	Meta                               map[string]any
}

// Query styles.
const (
	StyleKeyword = "keyword"
	StyleNatural = "natural"
	StylePerson  = "person"
	StyleFile    = "file"
)

// Query is one synthesized query.
type Query struct {
	Text  string
	Style string // "keyword" | "natural" | "person" | "file"
}

// DocFreq reports in how many corpus documents a (lowercased) term occurs,
// and the corpus size; used for salience (IDF).
type DocFreq interface {
	DF(term string) int
	N() int
}

// MapDocFreq is a DocFreq kept in a map, for tests and small corpora.
// The zero value is an empty corpus ready to use.
type MapDocFreq struct {
	df map[string]int
	n  int
}

// NewMapDocFreq returns a MapDocFreq over texts, one document each.
func NewMapDocFreq(texts ...string) *MapDocFreq {
	m := &MapDocFreq{}
	for _, t := range texts {
		m.Add(t)
	}
	return m
}

// Add counts one more document with the given text: every distinct term of
// Tokenize(text) gets one more document.
func (m *MapDocFreq) Add(text string) {
	if m.df == nil {
		m.df = map[string]int{}
	}
	m.n++
	seen := map[string]bool{}
	for _, t := range Tokenize(text) {
		if !seen[t] {
			seen[t] = true
			m.df[t]++
		}
	}
}

// AddSeed counts a seed's title and text as one document.
func (m *MapDocFreq) AddSeed(s Seed) { m.Add(s.Title + "\n" + s.Text) }

// DF implements DocFreq.
func (m *MapDocFreq) DF(term string) int { return m.df[strings.ToLower(term)] }

// N implements DocFreq.
func (m *MapDocFreq) N() int { return m.n }

// stopwords is a small English stopword list.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because
	been before being below between both but by can could did do does doing down during each few for from
	further had has have having he her here hers herself him himself his how i if in into is it its itself
	just let me more most my myself no nor not now of off on once only or other our ours ourselves out over
	own same she should so some such than that the their theirs them themselves then there these they this
	those through to too under until up very was we were what when where which while who whom why will with
	would you your yours yourself yourselves also may might must shall via per s t re ve ll d m don doesn
	didn isn aren wasn weren cannot etc since many much said says like get got yet still already according`) {
		stopwords[w] = true
	}
}

// IsStopword reports whether the lowercased term is on the stopword list.
func IsStopword(term string) bool { return stopwords[term] }

// words splits s into lowercase runs of unicode letters, digits and marks,
// keeping stopwords.
func words(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	}) {
		out = append(out, strings.ToLower(f))
	}
	return out
}

// Tokenize returns the lowercase terms of s: runs of unicode letters and
// digits, without the stopwords.
func Tokenize(s string) []string {
	var out []string
	for _, w := range words(s) {
		if !stopwords[w] {
			out = append(out, w)
		}
	}
	return out
}

// normKey is the case-, whitespace- and punctuation-insensitive form of q.
func normKey(q string) string { return strings.Join(words(q), " ") }

// termKey is the sorted set of content terms of q.
func termKey(q string) string {
	ts := Tokenize(q)
	if len(ts) == 0 {
		return ""
	}
	set := map[string]bool{}
	var uniq []string
	for _, t := range ts {
		if !set[t] {
			set[t] = true
			uniq = append(uniq, t)
		}
	}
	sort.Strings(uniq)
	return strings.Join(uniq, " ")
}

// Dedup drops empty queries and duplicates, keeping the first of each: two
// queries are duplicates when they are equal ignoring case, whitespace and
// punctuation, or when they have the same set of content terms ("retry
// design payments" and "payments retry design"). Texts are trimmed and
// inner whitespace collapsed.
func Dedup(qs []Query) []Query {
	var out []Query
	seenNorm := map[string]bool{}
	seenTerms := map[string]bool{}
	for _, q := range qs {
		text := strings.Join(strings.Fields(q.Text), " ")
		nk := normKey(text)
		if nk == "" {
			continue
		}
		tk := termKey(text)
		if seenNorm[nk] || (tk != "" && seenTerms[tk]) {
			continue
		}
		seenNorm[nk] = true
		if tk != "" {
			seenTerms[tk] = true
		}
		q.Text = text
		out = append(out, q)
	}
	return out
}

// ---------------------------------------------------------------- salience

type scored struct {
	term  string
	score float64
}

// analysis holds what Offline extracts from one seed.
type analysis struct {
	seed     Seed
	salience map[string]float64
	ranked   []string // salient terms, best first
	title    []string // content terms of the title, in order
	phrases  []string // noun-ish phrases of 2-3 terms, best first
	verbs    []string // "verb phrase" candidates, best first
	nameToks map[string]bool
}

// usable reports whether a term can stand in a keyword query.
func usable(t string) bool {
	if len([]rune(t)) < 2 {
		return false
	}
	digits := true
	for _, r := range t {
		if !unicode.IsDigit(r) {
			digits = false
			break
		}
	}
	// bare numbers are useless as keywords, except years and long ids
	return !digits || len(t) >= 4
}

// lowValue holds dates words: fine in a query, poor as its main term.
var lowValue = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`jan january feb february mar march apr april june jul july aug august
	sep sept september oct october nov november dec december mon monday tue tuesday wed wednesday thu
	thursday fri friday sat saturday sun sunday today yesterday tomorrow week weeks day days month
	year hi hello thanks thank please regards best cheers`) {
		lowValue[w] = true
	}
}

// weight is a prior on a term's use as a keyword: dates, numbers, and
// likely past-tense verbs and adverbs weigh less than other words.
func weight(t string) float64 {
	switch {
	case lowValue[t]:
		return 0.3
	case !strings.ContainsFunc(t, unicode.IsLetter):
		return 0.4
	case len(t) > 5 && (strings.HasSuffix(t, "ed") || strings.HasSuffix(t, "ly")):
		return 0.6
	}
	return 1
}

func idf(df DocFreq, term string) float64 {
	if df == nil || df.N() <= 0 {
		return 1
	}
	n := float64(df.N())
	d := float64(df.DF(term))
	if d > n {
		d = n
	}
	return math.Log(1 + (n-d+0.5)/(d+0.5))
}

func analyze(s Seed, df DocFreq) *analysis {
	a := &analysis{seed: s, salience: map[string]float64{}, nameToks: map[string]bool{}}
	for _, t := range words(s.Author) {
		a.nameToks[t] = true
	}
	tf := map[string]float64{}
	for _, t := range Tokenize(s.Text) {
		tf[t]++
	}
	for _, t := range Tokenize(s.Title) {
		tf[t] += 2 // title terms count extra
		a.title = append(a.title, t)
	}
	var list []scored
	for t, f := range tf {
		if !usable(t) {
			continue
		}
		sc := (1 + math.Log(f)) * idf(df, t) * weight(t)
		a.salience[t] = sc
		list = append(list, scored{t, sc})
	}
	sortScored(list)
	for _, x := range list {
		a.ranked = append(a.ranked, x.term)
	}
	a.phrases, a.verbs = a.extractPhrases(s.Text)
	return a
}

func sortScored(list []scored) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].score != list[j].score {
			return list[i].score > list[j].score
		}
		return list[i].term < list[j].term
	})
}

// verbs that start a "how do we ..." question.
var actionVerbs = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`add approve backfill book calculate cancel change claim configure connect
	create deploy disable enable enroll escalate export fix handle import install load measure migrate move
	reconcile refund remove renew replace report request reset retry review rotate route run set submit
	test track update upgrade validate`) {
		actionVerbs[w] = true
	}
}

// linkers may stand between a verb and its object.
var linkers = map[string]bool{
	"the": true, "a": true, "an": true, "our": true, "your": true, "their": true,
	"its": true, "this": true, "these": true, "up": true, "out": true, "all": true,
}

// clauses splits text at punctuation and line breaks, and returns the
// lowercase words of each clause (stopwords kept).
func clauses(text string) [][]string {
	var out [][]string
	for _, c := range strings.FieldsFunc(text, func(r rune) bool {
		return strings.ContainsRune(".,;:!?()[]{}\"\n\r\t|>…–—", r)
	}) {
		if ws := words(c); len(ws) > 0 {
			out = append(out, ws)
		}
	}
	return out
}

// extractPhrases finds runs of 2-3 adjacent salient terms (noun-ish
// phrases) and verb + object phrases, each ranked by salience.
func (a *analysis) extractPhrases(text string) (phrases, verbs []string) {
	var ps, vs []scored
	seenP, seenV := map[string]bool{}, map[string]bool{}
	for _, ws := range clauses(text) {
		for i := 0; i < len(ws); i++ {
			// phrases of content words
			for n := 2; n <= 3 && i+n <= len(ws); n++ {
				ok, sc := true, 0.0
				for _, w := range ws[i : i+n] {
					if stopwords[w] || !usable(w) || a.nameToks[w] || actionVerbs[w] {
						ok = false
						break
					}
					sc += a.salience[w]
				}
				if !ok {
					break
				}
				p := strings.Join(ws[i:i+n], " ")
				if !seenP[p] {
					seenP[p] = true
					ps = append(ps, scored{p, sc / float64(n) * (1 + 0.15*float64(n-2))})
				}
			}
			// verb, up to two stopwords, then one to three content words
			if actionVerbs[ws[i]] {
				j := i + 1
				for j < len(ws) && j-i <= 2 && linkers[ws[j]] {
					j++
				}
				k := j
				for k < len(ws) && k-j < 3 && !stopwords[ws[k]] && usable(ws[k]) {
					k++
				}
				allVerbs := true
				for _, w := range ws[j:k] {
					allVerbs = allVerbs && actionVerbs[w]
				}
				if k > j && !allVerbs {
					obj := ws[j:k]
					sc := 0.0
					for _, w := range obj {
						sc += a.salience[w]
					}
					p := ws[i] + " " + strings.Join(ws[i+1:k], " ")
					if !seenV[p] {
						seenV[p] = true
						vs = append(vs, scored{p, sc / float64(len(obj))})
					}
				}
			}
		}
	}
	sortScored(ps)
	sortScored(vs)
	for _, x := range ps {
		phrases = append(phrases, x.term)
	}
	for _, x := range vs {
		verbs = append(verbs, x.term)
	}
	return phrases, verbs
}

// top returns up to n ranked terms that pass keep, in rank order.
func (a *analysis) top(n int, keep func(string) bool) []string {
	var out []string
	for _, t := range a.ranked {
		if len(out) == n {
			break
		}
		if keep == nil || keep(t) {
			out = append(out, t)
		}
	}
	return out
}

func notIn(sets ...[]string) func(string) bool {
	m := map[string]bool{}
	for _, s := range sets {
		for _, t := range s {
			m[t] = true
		}
	}
	return func(t string) bool { return !m[t] }
}

// ---------------------------------------------------------------- candidates

// titleKeyword picks the 2-4 most salient title terms, kept in title order.
// When the title has more than two usable terms, it never uses all of them.
func (a *analysis) titleKeyword(skip int) string {
	var terms []string
	seen := map[string]bool{}
	for _, t := range a.title {
		if usable(t) && !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	if len(terms) == 0 {
		return ""
	}
	n := min(4, len(terms))
	if len(terms) > 2 {
		n = min(n, len(terms)-1)
	}
	n -= skip
	if n < 1 {
		return ""
	}
	rank := append([]string(nil), terms...)
	sort.SliceStable(rank, func(i, j int) bool { return a.salience[rank[i]] > a.salience[rank[j]] })
	keep := map[string]bool{}
	for _, t := range rank[:n] {
		keep[t] = true
	}
	var out []string
	for _, t := range terms {
		if keep[t] {
			out = append(out, t)
		}
	}
	return strings.Join(out, " ")
}

// bodyKeyword joins the salient terms ranked from..from+n.
func (a *analysis) bodyKeyword(from, n int) string {
	ts := a.top(from+n, nil)
	if len(ts) <= from {
		return ""
	}
	return strings.Join(ts[from:], " ")
}

func firstName(author string) string {
	author = strings.TrimSpace(author)
	if at := strings.IndexByte(author, '@'); at > 0 {
		author = author[:at]
		if dot := strings.IndexAny(author, "._"); dot > 0 {
			author = author[:dot]
		}
		if author == "" {
			return ""
		}
		r := []rune(author)
		r[0] = unicode.ToUpper(r[0])
		return string(r)
	}
	if i := strings.Index(author, ","); i > 0 { // "Raman, Priya"
		if f := strings.Fields(author[i+1:]); len(f) > 0 {
			return f[0]
		}
	}
	if f := strings.Fields(author); len(f) > 0 {
		return f[0]
	}
	return ""
}

func (a *analysis) person(variant int) string {
	first := firstName(a.seed.Author)
	if first == "" || normKey(first) == "" {
		return ""
	}
	ts := a.top(2, func(t string) bool { return !a.nameToks[t] && t != strings.ToLower(first) })
	if len(ts) == 0 {
		return ""
	}
	if variant == 0 {
		return first + " " + ts[0]
	}
	if len(a.phrases) > 0 {
		return a.phrases[0] + " from " + first
	}
	return ts[len(ts)-1] + " from " + first
}

var extKinds = map[string]string{
	"doc": "doc", "docx": "doc", "odt": "doc", "rtf": "doc", "gdoc": "doc",
	"xls": "spreadsheet", "xlsx": "spreadsheet", "csv": "spreadsheet", "ods": "spreadsheet", "gsheet": "spreadsheet",
	"ppt": "slides", "pptx": "slides", "key": "slides", "odp": "slides",
	"pdf": "pdf", "md": "notes", "txt": "notes",
	"eml": "email", "msg": "email",
	"png": "image", "jpg": "image", "jpeg": "image", "svg": "diagram",
}

// fileName returns the stem words and kind of the file named by the seed's
// URL or path, or nil when the last path segment has no file extension.
func (a *analysis) fileName() (stem []string, kind string) {
	p := a.seed.URL
	if u, err := url.Parse(p); err == nil && u.Scheme != "" {
		p = u.Path
	} else if un, err := url.PathUnescape(p); err == nil {
		p = un
	}
	base := path.Base(strings.ReplaceAll(p, "\\", "/"))
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return nil, ""
	}
	ext := strings.ToLower(base[dot+1:])
	if len(ext) > 6 {
		return nil, ""
	}
	for _, r := range ext {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return nil, ""
		}
	}
	for _, w := range Tokenize(base[:dot]) {
		if usable(w) {
			stem = append(stem, w)
		}
	}
	kind = extKinds[ext]
	if kind == "" {
		kind = ext
	}
	return stem, kind
}

func (a *analysis) file(variant int) string {
	stem, kind := a.fileName()
	if kind == "" {
		return ""
	}
	if variant == 0 && len(stem) > 0 {
		if len(stem) > 5 {
			stem = stem[:5]
		}
		return strings.Join(stem, " ")
	}
	ts := a.top(1, notIn(stem, []string{kind}))
	if len(ts) == 0 {
		return ""
	}
	return kind + " " + ts[0]
}

func (a *analysis) project() string {
	if a.seed.Meta == nil {
		return ""
	}
	if p, ok := a.seed.Meta["project"].(string); ok {
		return strings.TrimSpace(p)
	}
	return ""
}

var typeNouns = map[string]string{
	"mail": "email", "file": "doc", "chat": "thread", "page": "page", "ticket": "ticket",
}

func (a *analysis) natural(variant int) string {
	switch variant {
	case 0:
		if len(a.verbs) > 0 {
			return "how do we " + a.verbs[0]
		}
		if len(a.phrases) > 0 {
			return "how does the " + a.phrases[0] + " work"
		}
		if ts := a.top(1, nil); len(ts) > 0 {
			return "what is " + ts[0]
		}
	case 1:
		if p := a.project(); p != "" && normKey(p) != "" {
			return "what is the status of " + p
		}
		fallthrough
	case 2:
		noun := typeNouns[strings.ToLower(a.seed.Type)]
		if noun == "" {
			noun = "doc"
		}
		if len(a.phrases) > 1 {
			return "where is the " + noun + " about " + a.phrases[1]
		}
		if ts := a.top(2, nil); len(ts) > 0 {
			return "where is the " + noun + " about " + ts[len(ts)-1]
		}
	}
	return ""
}

// Offline writes up to k queries for seed without a model. It mixes
// keyword queries (salient title and body terms), a person query when the
// seed has an author, a file query when its URL or path names a file, and
// natural-language questions. The result is deduplicated, has no empty
// query and depends only on its inputs. df supplies document frequencies
// for salience; nil weighs every term alike.
func Offline(seed Seed, k int, df DocFreq) []Query {
	if k <= 0 {
		return nil
	}
	a := analyze(seed, df)
	first := []Query{
		{a.titleKeyword(0), StyleKeyword},
		{a.natural(0), StyleNatural},
		{a.person(0), StylePerson},
		{a.file(0), StyleFile},
		{a.bodyKeyword(0, 3), StyleKeyword},
	}
	// rotate the first round by a hash of the seed so that small k still
	// gives a mix of styles across seeds
	h := fnv.New32a()
	h.Write([]byte(seed.ID + "\x00" + seed.Title + "\x00" + seed.Text))
	rot := int(h.Sum32() % uint32(len(first)))
	first = append(first[rot:], first[:rot]...)
	second := []Query{
		{a.natural(1), StyleNatural},
		{a.mixedKeyword(), StyleKeyword},
		{a.person(1), StylePerson},
		{a.file(1), StyleFile},
		{a.bodyKeyword(3, 2), StyleKeyword},
		{a.natural(2), StyleNatural},
		{a.phraseKeyword(), StyleKeyword},
		{a.titleKeyword(1), StyleKeyword},
		{a.bodyKeyword(0, 2), StyleKeyword},
	}
	qs := Dedup(append(first, second...))

	// the full title, typed as is, goes last: a mix of styles comes first
	tn := normKey(seed.Title)
	var lead, tail []Query
	for _, q := range qs {
		if tn != "" && normKey(q.Text) == tn {
			tail = append(tail, q)
		} else {
			lead = append(lead, q)
		}
	}
	qs = append(lead, tail...)
	if len(qs) == 0 {
		if t := strings.Join(strings.Fields(seed.Title), " "); normKey(t) != "" {
			qs = []Query{{t, StyleKeyword}}
		}
	}
	if len(qs) > k {
		qs = qs[:k]
	}
	return qs
}

// mixedKeyword pairs the best title term with the best body-only terms.
func (a *analysis) mixedKeyword() string {
	var tt []string
	for _, t := range a.title {
		if usable(t) {
			tt = append(tt, t)
		}
	}
	if len(tt) == 0 {
		return ""
	}
	sort.SliceStable(tt, func(i, j int) bool { return a.salience[tt[i]] > a.salience[tt[j]] })
	body := a.top(2, notIn(a.title))
	if len(body) == 0 {
		return ""
	}
	return tt[0] + " " + strings.Join(body, " ")
}

// phraseKeyword is the best body phrase, with one more salient term.
func (a *analysis) phraseKeyword() string {
	if len(a.phrases) == 0 {
		return ""
	}
	p := a.phrases[0]
	extra := a.top(1, notIn(strings.Fields(p)))
	if len(extra) == 0 || len(strings.Fields(p)) >= 3 {
		return p
	}
	return p + " " + extra[0]
}
