package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/store"
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

// maxWords is how many words a search looks for (each is a bit of a
// 32-bit mask per field); the filter line says when words were left out.
const maxWords = 32

// wordMatch is one search resolved: per document, which words its title
// (low 32 bits) and body (high 32 bits) hold; per query id, which words
// its text holds; bound to an index, the latter by dense query index.
type wordMatch struct {
	text    string
	words   []string
	dropped int // words past maxWords, not looked for
	docs    []uint64
	queries map[int64]uint32

	bound *index
	qmask []uint32 // by dense query index of bound
}

// newWordMatch builds the masks from the words' matches (in a command:
// this is proportional to the documents matched).
func newWordMatch(text string, ws []store.WordMatches) *wordMatch {
	w := &wordMatch{text: text, queries: map[int64]uint32{}}
	if len(ws) > maxWords {
		w.dropped = len(ws) - maxWords
		ws = ws[:maxWords]
	}
	var hi int64 = -1
	for _, x := range ws {
		for _, id := range x.Titles {
			hi = max(hi, id)
		}
		for _, id := range x.Bodies {
			hi = max(hi, id)
		}
	}
	w.docs = make([]uint64, hi+1)
	for i, x := range ws {
		w.words = append(w.words, x.Word)
		for _, id := range x.Queries {
			w.queries[id] |= 1 << i
		}
		for _, id := range x.Titles {
			if id >= 0 {
				w.docs[id] |= 1 << i
			}
		}
		for _, id := range x.Bodies {
			if id >= 0 {
				w.docs[id] |= 1 << (32 + i)
			}
		}
	}
	return w
}

// bind maps the matching queries to x's dense indexes (again when the
// index was rebuilt or grew new queries).
func (w *wordMatch) bind(x *index) {
	if w.bound == x && len(w.qmask) == len(x.qtext) {
		return
	}
	w.bound = x
	w.qmask = make([]uint32, len(x.qtext))
	for id, mask := range w.queries {
		if d, found := x.qdense[id]; found {
			w.qmask[d] = mask
		}
	}
}

// masks are the words row r's query, title and body hold.
func (w *wordMatch) masks(x *index, r int32) (q, t, b uint32) {
	q = w.qmask[x.qix[r]]
	if d := x.dids[r]; int(d) < len(w.docs) {
		m := w.docs[d]
		t, b = uint32(m), uint32(m>>32)
	}
	return q, t, b
}

// fields says where the row matched (0: it does not: some word is in none
// of its fields).
func (w *wordMatch) fields(x *index, r int) uint8 {
	q, t, b := w.masks(x, int32(r))
	if q|t|b != w.all() {
		return 0
	}
	return fieldBits(q, t, b)
}

func (w *wordMatch) all() uint32 { return uint32(1)<<len(w.words) - 1 }

func fieldBits(q, t, b uint32) uint8 {
	var f uint8
	if q != 0 {
		f |= inQuery
	}
	if t != 0 {
		f |= inTitle
	}
	if b != 0 {
		f |= inBody
	}
	return f
}

// keep keeps the rows that match, counting where they matched.
func (w *wordMatch) keep(x *index, view []int32, in *[3]int) []int32 {
	all := w.all()
	out := view[:0]
	docs, qmask, qix, dids := w.docs, w.qmask, x.qix, x.dids
	for _, r := range view {
		q := qmask[qix[r]]
		var t, b uint32
		if d := dids[r]; int(d) < len(docs) {
			m := docs[d]
			t, b = uint32(m), uint32(m>>32)
		}
		if q|t|b != all {
			continue
		}
		if q != 0 {
			in[0]++
		}
		if t != 0 {
			in[1]++
		}
		if b != 0 {
			in[2]++
		}
		out = append(out, r)
	}
	return out
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
		w := newWordMatch(text, ws)
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
	desc := fmt.Sprintf("words %q in query %d · title %d · body %d", strings.Join(w.words, " "), b.inCount[0], b.inCount[1], b.inCount[2])
	if w.dropped > 0 {
		desc += fmt.Sprintf(" (the first %d words; %d more not looked for)", maxWords, w.dropped)
	}
	return desc
}

// searching is whether a search with words filters the rows.
func (b *browseState) searching() *wordMatch {
	if b.match == nil || len(b.match.words) == 0 || b.search == "" {
		return nil
	}
	return b.match
}
