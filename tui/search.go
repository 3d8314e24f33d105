package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// Browse search: whole words (as the full-text indexes stem them, so
// "passwords" finds "password" but "pto" never finds "laptop") in the
// query text, the document title and the document body. A pair matches
// when each word of the search is in at least one of the three; the table
// says where (the "in" column) and the filter line how many pairs matched
// in each field. The words are looked up in the background (store.
// MatchWords); the rows are filtered in Update from the compact index.

// Fields a search word was found in (a pair's bits).
const (
	inQuery uint8 = 1 << iota
	inTitle
	inBody
)

// bitset is a set of document ids.
type bitset []uint64

func (s bitset) has(id int64) bool {
	i := uint64(id) >> 6
	return i < uint64(len(s)) && s[i]&(1<<(uint64(id)&63)) != 0
}

func newBitset(ids []int64) bitset {
	var hi int64
	for _, id := range ids {
		hi = max(hi, id)
	}
	s := make(bitset, hi/64+1)
	for _, id := range ids {
		if id >= 0 {
			s[id>>6] |= 1 << (uint64(id) & 63)
		}
	}
	return s
}

// wordMatch is one search resolved: per word, the query ids and the
// document sets that hold it; bound to an index, the queries as a flag per
// dense query index.
type wordMatch struct {
	text   string
	words  []string
	qids   [][]int64
	titles []bitset
	bodies []bitset

	bound *index
	qok   [][]bool // per word, by dense query index of bound
}

// bind maps the matching queries to x's dense indexes (again when the
// index was rebuilt or grew new queries).
func (w *wordMatch) bind(x *index) {
	if w.bound == x && len(w.qok) > 0 && len(w.qok[0]) == len(x.qtext) {
		return
	}
	w.bound = x
	w.qok = make([][]bool, len(w.words))
	for i, ids := range w.qids {
		ok := make([]bool, len(x.qtext))
		for _, id := range ids {
			if d, found := x.qdense[id]; found {
				ok[d] = true
			}
		}
		w.qok[i] = ok
	}
}

// fields says where the row matched (0: it does not: some word is in none
// of its fields).
func (w *wordMatch) fields(x *index, r int) uint8 {
	var all uint8
	q, d := x.qix[r], x.dids[r]
	for i := range w.words {
		var f uint8
		if w.qok[i][q] {
			f |= inQuery
		}
		if w.titles[i].has(d) {
			f |= inTitle
		}
		if w.bodies[i].has(d) {
			f |= inBody
		}
		if f == 0 {
			return 0
		}
		all |= f
	}
	return all
}

// fieldsText is the "in" column: q, t, b where the search matched.
func fieldsText(f uint8) string {
	b := []byte("   ")
	if f&inQuery != 0 {
		b[0] = 'q'
	}
	if f&inTitle != 0 {
		b[1] = 't'
	}
	if f&inBody != 0 {
		b[2] = 'b'
	}
	return string(b)
}

type searchMsg struct {
	seq   int
	match *wordMatch
	err   error
}

// setSearch starts looking up a new search text; the rows change when the
// words are found (an empty text clears the search at once).
func (b *browseState) setSearch(m *Model, text string) tea.Cmd {
	b.search = strings.TrimSpace(text)
	b.searchSeq++
	if b.search == "" {
		b.match = nil
		b.recompute(m)
		return b.ensureTitles(m)
	}
	return b.searchCmd(m)
}

// searchCmd looks up the words of the current search.
func (b *browseState) searchCmd(m *Model) tea.Cmd {
	st, ctx, seq, text := m.st, m.ctx, b.searchSeq, b.search
	return func() tea.Msg {
		ws, err := st.MatchWords(ctx, text)
		if err != nil {
			return searchMsg{seq: seq, err: err}
		}
		w := &wordMatch{text: text}
		for _, x := range ws {
			w.words = append(w.words, x.Word)
			w.qids = append(w.qids, x.Queries)
			w.titles = append(w.titles, newBitset(x.Titles))
			w.bodies = append(w.bodies, newBitset(x.Bodies))
		}
		return searchMsg{seq: seq, match: w}
	}
}

func (b *browseState) onSearch(m *Model, msg searchMsg) tea.Cmd {
	if msg.seq != b.searchSeq {
		return nil // typed on meanwhile
	}
	if msg.err != nil {
		m.setFlash("search: "+msg.err.Error(), true)
		return nil
	}
	b.match = msg.match
	b.recompute(m)
	return b.ensureTitles(m)
}

// searchDesc is the filter line's account of the search.
func (b *browseState) searchDesc() string {
	w := b.match
	switch {
	case w == nil || w.text != b.search:
		return fmt.Sprintf("search %q…", b.search)
	case len(w.words) == 0:
		return fmt.Sprintf("search %q: no words to look for", b.search)
	}
	return fmt.Sprintf("words %q in query %d · title %d · body %d", strings.Join(w.words, " "), b.inCount[0], b.inCount[1], b.inCount[2])
}

// searching is whether a search with words filters the rows.
func (b *browseState) searching() *wordMatch {
	if b.match == nil || len(b.match.words) == 0 || b.search == "" {
		return nil
	}
	return b.match
}
