package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/store"
)

// adjState is the Adjudicate screen (adjudicators only): the pairs whose
// human grades disagree, one at a time, with each human's grade and note.
// A digit decides the pair's final grade (the labeler human:gold, see
// store.Adjudicate) and moves to the next; n writes a note first.
type adjState struct {
	items   []store.Disagreement // unresolved, in pair order; items[0] is shown
	data    *pairData            // items[0]'s pair (document text)
	after   int64                // pages: pairs after this id were not read yet
	end     bool                 // no page after the items held
	loading bool
	loaded  bool
	seq     int
	note    string
	decided int // decisions this session
	scroll  int
	err     error
}

const adjPage = 50

// maxNoteLines bounds each human's note on the Adjudicate screen.
const maxNoteLines = 4

type adjPageMsg struct {
	seq   int
	items []store.Disagreement
	data  *pairData
	reset bool
	err   error
}

type adjPairMsg struct {
	id   int64
	data *pairData
	err  error
}

// isAdjudicator: the annotator may decide disagreements.
func (m *Model) isAdjudicator() bool { return m.me.Config.Adjudicator }

// loadCmd reads the next page of unresolved disagreements (reset: from the
// start) and the first one's pair.
func (a *adjState) loadCmd(m *Model, reset bool) tea.Cmd {
	if a.loading || m.me.ID == 0 {
		return nil
	}
	a.loading = true
	a.seq++
	after := a.after
	if reset {
		after = 0
	}
	st, ctx, seq := m.st, m.ctx, a.seq
	return func() tea.Msg {
		ds, err := st.Disagreements(ctx, store.DisagreementOptions{Unresolved: true, AfterPairID: after, Limit: adjPage})
		msg := adjPageMsg{seq: seq, items: ds, reset: reset, err: err}
		if err == nil && len(ds) > 0 {
			msg.data, msg.err = loadPair(ctx, st, ds[0].PairID)
		}
		return msg
	}
}

func (a *adjState) pairCmd(m *Model) tea.Cmd {
	if len(a.items) == 0 {
		return nil
	}
	id := a.items[0].PairID
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		d, err := loadPair(ctx, st, id)
		return adjPairMsg{id: id, data: d, err: err}
	}
}

func (a *adjState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case adjPageMsg:
		if msg.seq != a.seq {
			return nil, true
		}
		a.loading, a.loaded, a.err = false, true, msg.err
		if msg.err != nil {
			return nil, true
		}
		if msg.reset {
			a.items = nil
		}
		a.items = append(a.items, msg.items...)
		a.end = len(msg.items) < adjPage
		if n := len(msg.items); n > 0 {
			a.after = msg.items[n-1].PairID
		}
		if len(a.items) > 0 && len(msg.items) > 0 && a.items[0].PairID == msg.items[0].PairID {
			a.data, a.scroll = msg.data, 0
		}
		return nil, true
	case adjPairMsg:
		if len(a.items) > 0 && a.items[0].PairID == msg.id && msg.err == nil {
			a.data, a.scroll = msg.data, 0
		}
		return nil, true
	}
	return nil, false
}

// next drops the pair shown and shows the next, reading on when the page
// runs out.
func (a *adjState) next(m *Model) tea.Cmd {
	if len(a.items) > 0 {
		a.items = a.items[1:]
	}
	a.data, a.note, a.scroll = nil, "", 0
	if len(a.items) == 0 {
		if a.end {
			return nil
		}
		return a.loadCmd(m, false)
	}
	return a.pairCmd(m)
}

func (a *adjState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	if g, ok := m.digit(k); ok {
		if len(a.items) == 0 {
			return nil, true
		}
		d := a.items[0]
		a.decided++
		m.setFlash(fmt.Sprintf("gold grade %d for %s / %s", g, d.QueryExtID, d.DocExtID), false)
		cmd := m.enqueue(writeOp{kind: writeAdjudicate, j: store.Judgment{PairID: d.PairID, LabelerID: m.me.ID, Grade: g, Note: a.note}})
		return tea.Batch(cmd, a.next(m)), true
	}
	switch {
	case key.Matches(k, km.note):
		if len(a.items) == 0 {
			return nil, true
		}
		id := a.items[0].PairID
		m.input = m.newInput("adjudication note", a.note, func(m *Model, text string) tea.Cmd {
			if len(m.adj.items) > 0 && m.adj.items[0].PairID == id {
				m.adj.note = text
			}
			return nil
		})
		return nil, true
	case key.Matches(k, km.later):
		// Leave this one for later: it stays unresolved.
		if len(a.items) > 0 {
			return a.next(m), true
		}
		return nil, true
	case key.Matches(k, km.reload):
		a.after, a.end = 0, false
		a.data, a.note = nil, ""
		a.loading = false
		return a.loadCmd(m, true), true
	case key.Matches(k, km.down):
		a.scroll++
		return nil, true
	case key.Matches(k, km.up):
		a.scroll = max(a.scroll-1, 0)
		return nil, true
	case key.Matches(k, km.open):
		if len(a.items) > 0 {
			return m.openPair(a.items[0].PairID), true
		}
		return nil, true
	}
	return nil, false
}

// onUndone shows a decision taken back: the count goes down, and the
// disagreement, open again, is the one on screen.
func (a *adjState) onUndone(m *Model, u *undone) tea.Cmd {
	a.decided = max(a.decided-1, 0)
	m.browse.invalidate(u.adj.PairID)
	cmds := []tea.Cmd{m.browse.refreshCmd(m), m.gradesChanged()}
	what := fmt.Sprintf("undone: gold grade %d on %s", u.adj.Grade, pairWords(u.view))
	switch {
	case u.gold != nil:
		m.setFlash(fmt.Sprintf("%s — the gold grade is back to %d (an earlier decision)", what, u.gold.Grade), false)
	case u.reopen != nil:
		m.setFlash(what+" — open again", false)
		for i, d := range a.items {
			if d.PairID == u.reopen.PairID {
				a.items = append(a.items[:i], a.items[i+1:]...)
				break
			}
		}
		a.items = append([]store.Disagreement{*u.reopen}, a.items...)
		a.data, a.note, a.scroll = nil, "", 0
		cmds = append(cmds, a.pairCmd(m))
	default:
		m.setFlash(what+" — no longer a disagreement", false)
	}
	return tea.Batch(cmds...)
}

// adjudicated is called when a decision is committed.
func (m *Model) adjudicated(op writeOp) tea.Cmd {
	m.browse.invalidate(op.j.PairID)
	return m.browse.refreshCmd(m)
}

func (a *adjState) view(m *Model, w, h int) []string {
	s := m.sty
	switch {
	case a.err != nil:
		return []string{"", s.bad.Render("  disagreements: " + a.err.Error())}
	case !a.loaded || (len(a.items) == 0 && a.loading):
		return []string{"", s.muted.Render("  loading disagreements…")}
	case len(a.items) == 0:
		return []string{"", s.ok.Render("  No open disagreements."), "",
			s.muted.Render(fmt.Sprintf("  Decided this session: %d. Press r to look again.", a.decided))}
	}
	d := a.items[0]
	more := "+"
	if a.end {
		more = ""
	}
	var out []string
	out = append(out, " "+s.header.Render("Disagreement")+s.muted.Render(fmt.Sprintf("  %d%s open · spread %d · decided %d", len(a.items), more, d.Spread, a.decided)))
	out = append(out, queryLines(m, d.QueryExtID, d.QueryText, w)...)
	if a.data != nil {
		out = append(out, metaLines(m, a.data.view.Doc, w)...)
	} else {
		out = append(out, " "+s.header.Render(d.DocTitle)+s.muted.Render(" · "+d.DocExtID))
	}
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	// Each human's grade and note.
	nw := 0
	for _, l := range m.scale.Levels {
		nw = max(nw, len([]rune(l.Name)))
	}
	// Each human's grade, and their note wrapped under it (at most
	// maxNoteLines lines, so the document keeps its room).
	nameW := 16
	lead := 3 + nameW + 1 + 2 + nw + 7 // "   name  g Name note: "
	for _, g := range d.Grades {
		line := "   " + s.text.Render(pad(shortName(g.Labeler, nameW), nameW+1)) + m.sty.gradeStyle(m.levelIndex(g.Grade)).Render(fmt.Sprint(g.Grade))
		if m.scale.Contains(g.Grade) {
			line += s.muted.Render(" " + pad(m.scale.Levels[m.levelIndex(g.Grade)].Name, nw))
		}
		if g.Note == "" {
			out = append(out, line)
			continue
		}
		// The first line beside the grade, the rest under it at nearly the
		// full width.
		first := wrapText(g.Note, max(w-lead-1, 20))[0]
		rest := strings.TrimSpace(strings.TrimPrefix(strings.Join(strings.Fields(g.Note), " "), first))
		lines := append([]string{first}, wrapText(rest, max(w-8, 20))...)
		if rest == "" {
			lines = lines[:1]
		}
		for i, ln := range lines {
			switch {
			case i == 0:
				out = append(out, line+s.muted.Render(" note: ")+s.text.Render(ln))
			case i == maxNoteLines-1 && len(lines) > maxNoteLines:
				out = append(out, "       "+s.text.Render(clip(ln+" …", w-8)))
			case i < maxNoteLines:
				out = append(out, "       "+s.text.Render(ln))
			}
		}
	}
	if a.note != "" {
		out = append(out, "   "+s.accent.Render("your note: ")+s.text.Render(a.note))
	}
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	scale := scaleLines(m, w, -1)
	th := max(h-len(out)-len(scale)-1, 0)
	if a.data != nil && th > 0 {
		lines := wrapText(a.data.view.Doc.Body, w-2)
		a.scroll = min(a.scroll, max(len(lines)-th, 0))
		terms := queryTerms(d.QueryText)
		for i := 0; i < th; i++ {
			if li := a.scroll + i; li < len(lines) {
				out = append(out, " "+highlight(s, lines[li], terms))
			} else {
				out = append(out, "")
			}
		}
	} else {
		for i := 0; i < th; i++ {
			out = append(out, "")
		}
	}
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	out = append(out, scale...)
	return out
}
