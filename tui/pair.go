package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

// pairState is the Pair screen: every labeler's verdict on one pair.
type pairState struct {
	id      int64
	data    *pairData
	shownAt time.Time
	loading bool
	err     error
	scroll  int
	note    string
	wrapFor int
	lines   []string // the detail body, wrapped (rebuilt on load/resize)
	// list is the screen it was opened from, whose list j/k walk and a
	// grade moves on in: Grade (the pairs served this session, then the
	// one on screen), Browse (its rows) or Adjudicate (its disagreements).
	list screen
	// follow: the pair is the Grade screen's current one, so a grade here
	// moves both screens on to the next pair drawn.
	follow bool
}

type pairDataMsg struct {
	id   int64
	data *pairData
	err  error
}

func (p *pairState) loadCmd(m *Model, id int64) tea.Cmd {
	p.loading = true
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		d, err := loadPair(ctx, st, id)
		return pairDataMsg{id: id, data: d, err: err}
	}
}

func (p *pairState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case pairDataMsg:
		if msg.id != p.id {
			return nil, true
		}
		p.loading = false
		p.err = msg.err
		if msg.err == nil {
			if p.data == nil || p.data.view.ID != msg.id {
				p.shownAt = m.now()
			}
			p.data = msg.data
			p.note = ""
			if j, ok := msg.data.judgment(m.me.ID); ok {
				p.note = j.Note
			}
			p.wrapFor = 0
		}
		return nil, true
	}
	return nil, false
}

func (p *pairState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	if p.data == nil {
		return nil, false
	}
	km := &m.keys
	if g, ok := m.digit(k); ok {
		return p.grade(m, g, store.StatusOK), true
	}
	switch {
	case key.Matches(k, km.unsure):
		return p.grade(m, 0, store.StatusUnsure), true
	case key.Matches(k, km.note):
		d := p.data
		m.input = m.newInput("note", p.note, func(m *Model, text string) tea.Cmd {
			cmd := m.saveNote(d, text)
			m.pair.wrapFor = 0
			return cmd
		})
		return nil, true
	case key.Matches(k, km.pNext):
		return p.step(m, 1, ""), true
	case key.Matches(k, km.pPrev):
		return p.step(m, -1, ""), true
	case key.Matches(k, km.pDown):
		p.scroll++
		return nil, true
	case key.Matches(k, km.pUp):
		p.scroll = max(p.scroll-1, 0)
		return nil, true
	case key.Matches(k, km.pPageDown):
		p.scroll += 10
		return nil, true
	case key.Matches(k, km.pPageUp):
		p.scroll = max(p.scroll-10, 0)
		return nil, true
	case key.Matches(k, km.pBack):
		return m.show(m.back), true
	}
	return nil, false
}

// grade records a verdict on the pair shown and moves on, as Grade does:
// to the next pair drawn when it is the Grade screen's, else to the next
// pair of the list it came from.
func (p *pairState) grade(m *Model, g int, status string) tea.Cmd {
	said := fmt.Sprintf("graded %d", g)
	if status == store.StatusUnsure {
		said = "marked unsure"
	}
	if gs := &m.grade; p.list == scrGrade && gs.cur != nil && gs.cur.view.ID == p.id {
		// The Grade screen's pair: grading it here is grading it there.
		cmd, _ := gs.key(m, m.gradeKey(g, status))
		m.setFlash(said, false)
		return tea.Batch(cmd, p.followGrade(m))
	}
	cmd := m.verdict(p.data, g, status, p.note)
	p.wrapFor = 0
	return tea.Batch(cmd, p.step(m, 1, said))
}

// followGrade shows the Grade screen's current pair (drawn next), or waits
// for it (see gradeState.arrive).
func (p *pairState) followGrade(m *Model) tea.Cmd {
	if m.screen != scrPair {
		return nil
	}
	if c := m.grade.cur; c != nil {
		return m.openPairFrom(c.view.ID, scrGrade)
	}
	p.data, p.id, p.follow = nil, 0, true
	return nil
}

// step shows the pair d places away in the list the Pair screen came from;
// said is what was just done (it leads the status line).
func (p *pairState) step(m *Model, d int, said string) tea.Cmd {
	next, ok := m.neighbour(p.list, p.id, d)
	if !ok {
		end := "the last"
		if d < 0 {
			end = "the first"
		}
		msg := "this is " + end + " pair of " + listName(p.list)
		if said != "" {
			msg = said + " — " + msg
		}
		m.setFlash(msg, false)
		return nil
	}
	if said != "" {
		m.setFlash(said+" — next pair of "+listName(p.list), false)
	}
	return m.openPairFrom(next, p.list)
}

func listName(s screen) string {
	switch s {
	case scrBrowse:
		return "the Browse list"
	case scrAdjudicate:
		return "the open disagreements"
	case scrSystems:
		return "the ranked list"
	}
	return "the pairs Grade served you"
}

// gradeKey is the Grade screen's key for a verdict.
func (m *Model) gradeKey(g int, status string) tea.KeyPressMsg {
	if status == store.StatusUnsure {
		return tea.KeyPressMsg{Code: 'x', Text: "x"}
	}
	return tea.KeyPressMsg{Code: rune('0' + g), Text: fmt.Sprint(g)}
}

// browseSelect puts the Browse selection on a pair (false: not in its
// rows), so that Browse shows where the Pair screen is.
func (m *Model) browseSelect(id int64) bool {
	b := &m.browse
	if b.idx == nil || b.count() == 0 {
		return false
	}
	if cur, _ := b.selected(); cur == id {
		return true
	}
	if r := b.prevIdx.row(id); r >= 0 {
		if i := b.indexOf(int32(r)); i >= 0 {
			b.move(m, i-b.cursor)
			return true
		}
	}
	return false
}

// neighbour is the pair d places from id in a screen's list.
func (m *Model) neighbour(list screen, id int64, d int) (int64, bool) {
	switch list {
	case scrBrowse:
		b := &m.browse
		if !m.browseSelect(id) {
			return 0, false
		}
		if i := b.cursor + d; i < 0 || i >= b.count() {
			return 0, false
		}
		b.move(m, d)
		return b.selected()
	case scrSystems:
		return m.systems.neighbour(id, d)
	case scrAdjudicate:
		for i, it := range m.adj.items {
			if it.PairID == id {
				if j := i + d; j >= 0 && j < len(m.adj.items) {
					return m.adj.items[j].PairID, true
				}
				return 0, false
			}
		}
		return 0, false
	}
	g := &m.grade
	ids := g.trail
	if g.cur != nil {
		ids = append(slices.Clone(ids), g.cur.view.ID)
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == id {
			if j := i + d; j >= 0 && j < len(ids) {
				return ids[j], true
			}
			return 0, false
		}
	}
	return 0, false
}

func (p *pairState) view(m *Model, w, h int) []string {
	s := m.sty
	if p.err != nil {
		return []string{"", s.bad.Render("  " + p.err.Error())}
	}
	if p.data == nil {
		if p.id == 0 {
			return []string{"", s.muted.Render("  No pair open: press enter on the Grade or Browse screen.")}
		}
		return []string{"", s.muted.Render("  loading…")}
	}
	d := p.data
	v := d.view
	head := pairHead(m, v, w)
	if p.wrapFor != w {
		p.lines = p.body(m, w)
		p.wrapFor = w
	}
	bh := max(h-len(head), 1)
	p.scroll = min(p.scroll, max(len(p.lines)-bh, 0))
	out := head
	end := min(p.scroll+bh, len(p.lines))
	out = append(out, p.lines[p.scroll:end]...)
	return out
}

// body renders the verdict table, each rationale and the document.
func (p *pairState) body(m *Model, w int) []string {
	s := m.sty
	d := p.data
	mine, graded := d.judgment(m.me.ID)
	hidden := m.blind && !(graded && mine.Status == store.StatusOK)
	nl := len(m.scale.Levels)
	const bw = 4 // per-level bar width: 1/32 resolution
	type row struct {
		l store.Labeler
		j store.Judgment
	}
	var rows []row
	var labs []store.Labeler
	anyProbs, anyExp, anyTok, anyMS, anyCost := false, false, false, false, false
	for _, l := range orderLabelers(m.labelers) {
		j, ok := d.judgment(l.ID)
		if !ok {
			continue
		}
		rows = append(rows, row{l, j})
		labs = append(labs, l)
		if hidden && l.ID != m.me.ID {
			continue
		}
		anyProbs = anyProbs || len(j.Probs) == nl
		anyExp = anyExp || j.HasExpected
		anyTok = anyTok || j.TokensIn+j.TokensOut > 0
		anyMS = anyMS || j.LatencyMS > 0 && !isHumanish(l)
		anyCost = anyCost || j.CostUSD > 0
	}
	nameW := min(max(maxLabel(labs, m.me.ID), 7), max(min(w-70, 40), 16)) // wider names where the width allows
	names, abbrev := labelerLabels(labs, m.me.ID, nameW)
	// Columns: what every row has first, then the model's costs while
	// they fit the width.
	probW := 0
	if anyProbs {
		probW = nl * (bw + 1)
	}
	used := 1 + nameW + 1 + 8 + 5 + 2 + probW
	if anyExp {
		used += 5
	}
	showTok, showMS, showCost := anyTok && used+10 <= w, false, false
	if showTok {
		used += 10
	}
	if showMS = anyMS && used+7 <= w; showMS {
		used += 7
	}
	showCost = anyCost && used+9 <= w
	var out []string
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	hdr := " " + pad("labeler", nameW+1) + pad("kind", 8) + padLeft("grade", 5) + "  "
	if anyProbs {
		for _, l := range m.scale.Levels {
			hdr += pad(fmt.Sprintf("P(%d)", l.Grade), bw+1)
		}
	}
	if anyExp {
		hdr += padLeft("exp", 5)
	}
	if showTok {
		hdr += padLeft("tokens", 10)
	}
	if showMS {
		hdr += padLeft("ms", 7)
	}
	if showCost {
		hdr += padLeft("$", 9)
	}
	out = append(out, s.header.Render(hdr))
	if len(rows) == 0 {
		out = append(out, s.muted.Render("   no grades yet"))
	}
	var notes []string
	for i, r := range rows {
		me := r.l.ID == m.me.ID
		kind := r.l.Kind
		if r.l.Role != "" {
			kind = r.l.Role
		}
		line := " " + pad(names[i], nameW+1) + s.muted.Render(pad(kind, 8))
		if hidden && !me {
			line += s.muted.Render(padLeft("—", 5) + "  hidden until you grade (b: show)")
			out = append(out, line)
			continue
		}
		line += padLeft(verdictText(m, r.j), 5) + "  "
		if anyProbs {
			if len(r.j.Probs) == nl {
				for i, pr := range r.j.Probs {
					b := strings.TrimRight(bar(pr, bw), " ")
					line += s.gradeStyle(i).Render(b) + s.muted.Render(strings.Repeat("·", bw-ansi.StringWidth(b))) + " "
				}
			} else {
				line += strings.Repeat(" ", probW)
			}
		}
		if anyExp {
			exp := ""
			if r.j.HasExpected {
				exp = fmt.Sprintf("%.2f", r.j.Expected)
			}
			line += padLeft(exp, 5)
		}
		var tail string
		if showTok {
			tok := ""
			if r.j.TokensIn+r.j.TokensOut > 0 {
				tok = fmt.Sprintf("%d/%d", r.j.TokensIn, r.j.TokensOut)
			}
			tail += padLeft(tok, 10)
		}
		if showMS {
			ms := ""
			if r.j.LatencyMS > 0 && !isHumanish(r.l) {
				ms = fmt.Sprintf("%.0f", r.j.LatencyMS)
			}
			tail += padLeft(ms, 7)
		}
		if showCost {
			cost := ""
			if r.j.CostUSD > 0 {
				cost = fmt.Sprintf("%.5f", r.j.CostUSD)
			}
			tail += padLeft(cost, 9)
		}
		line += s.muted.Render(tail)
		out = append(out, line)
		if r.j.Reason != "" {
			notes = append(notes, " "+s.header.Render(r.l.Name)+s.muted.Render(" rationale"))
			for _, ln := range wrapText(r.j.Reason, w-4) {
				notes = append(notes, "   "+s.text.Render(ln))
			}
		}
		if r.j.Note != "" {
			notes = append(notes, " "+s.header.Render(r.l.Name)+s.muted.Render(" note"))
			for _, ln := range wrapText(r.j.Note, w-4) {
				notes = append(notes, "   "+s.text.Render(ln))
			}
		}
	}
	// One legend line for every symbol and shortened name in the table.
	var legend []string
	if anyProbs {
		legend = append(legend, "P(g): probability of grade g (a full bar is 100%)")
	}
	if anyExp {
		legend = append(legend, "exp: expected grade")
	}
	if showTok {
		legend = append(legend, "tokens: in/out")
	}
	if showMS {
		legend = append(legend, "ms: time per request")
	}
	if abbrev != "" {
		legend = append(legend, abbrev)
	}
	if len(legend) > 0 {
		for _, ln := range wrapText(strings.Join(legend, " · "), max(w-2, 20)) {
			out = append(out, " "+s.muted.Render(ln))
		}
	}
	if !graded && p.note != "" {
		notes = append(notes, " "+s.header.Render("your note")+s.muted.Render(" (saved with your grade)"), "   "+s.text.Render(p.note))
	}
	out = append(out, "")
	g := -1
	if graded && mine.Status == store.StatusOK {
		g = mine.Grade
	}
	out = append(out, scaleLines(m, w, g)...)
	if len(notes) > 0 {
		out = append(out, "")
		out = append(out, notes...)
	}
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	terms := queryTerms(d.view.QueryText)
	for _, ln := range wrapText(d.view.Doc.Body, w-2) {
		out = append(out, " "+highlight(s, ln, terms))
	}
	return out
}
