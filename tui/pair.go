package tui

import (
	"fmt"
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
		cmd := m.verdict(p.data, g, store.StatusOK, p.note)
		p.wrapFor = 0
		m.setFlash(fmt.Sprintf("graded %d", g), false)
		return cmd, true
	}
	switch {
	case key.Matches(k, km.unsure):
		cmd := m.verdict(p.data, 0, store.StatusUnsure, p.note)
		p.wrapFor = 0
		m.setFlash("marked unsure", false)
		return cmd, true
	case key.Matches(k, km.note):
		d := p.data
		m.input = m.newInput("note", p.note, func(m *Model, text string) tea.Cmd {
			cmd := m.saveNote(d, text)
			m.pair.wrapFor = 0
			return cmd
		})
		return nil, true
	case key.Matches(k, km.down):
		p.scroll++
		return nil, true
	case key.Matches(k, km.up):
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
	bw := 3 // per-level bar width
	var out []string
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	hdr := " " + pad("labeler", 17) + pad("kind", 8) + padLeft("grade", 5) + "  " + pad("probabilities", nl*(bw+1)) + padLeft("exp", 5) +
		padLeft("tokens", 10) + padLeft("ms", 7) + padLeft("$", 9)
	out = append(out, s.header.Render(hdr))
	type row struct {
		l store.Labeler
		j store.Judgment
	}
	var rows []row
	for _, l := range orderLabelers(m.labelers) {
		if j, ok := d.judgment(l.ID); ok {
			rows = append(rows, row{l, j})
		}
	}
	if len(rows) == 0 {
		out = append(out, s.muted.Render("   no grades yet"))
	}
	var notes []string
	for _, r := range rows {
		me := r.l.ID == m.me.ID
		name := shortName(r.l.Name, 16)
		kind := r.l.Kind
		if r.l.Role != "" {
			kind = r.l.Role
		}
		if me {
			name = clip(name, 10) + " (you)"
		}
		line := " " + pad(name, 17) + s.muted.Render(pad(kind, 8))
		if hidden && !me {
			line += s.muted.Render(padLeft("—", 5) + "  hidden until you grade (b: show)")
			out = append(out, line)
			continue
		}
		line += padLeft(verdictText(m, r.j), 5) + "  "
		if len(r.j.Probs) == nl {
			for i, pr := range r.j.Probs {
				b := strings.TrimRight(bar(pr, bw), " ")
				line += s.gradeStyle(i).Render(b) + s.muted.Render(strings.Repeat("·", bw-ansi.StringWidth(b))) + " "
			}
		} else {
			line += strings.Repeat(" ", nl*(bw+1))
		}
		exp := ""
		if r.j.HasExpected {
			exp = fmt.Sprintf("%.2f", r.j.Expected)
		}
		line += padLeft(exp, 5)
		tok, ms, cost := "", "", ""
		if r.j.TokensIn+r.j.TokensOut > 0 {
			tok = fmt.Sprintf("%d/%d", r.j.TokensIn, r.j.TokensOut)
		}
		if r.j.LatencyMS > 0 && !isHumanish(r.l) {
			ms = fmt.Sprintf("%.0f", r.j.LatencyMS)
		}
		if r.j.CostUSD > 0 {
			cost = fmt.Sprintf("%.5f", r.j.CostUSD)
		}
		line += s.muted.Render(padLeft(tok, 10) + padLeft(ms, 7) + padLeft(cost, 9))
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
