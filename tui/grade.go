package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

// pairData is a pair with every labeler's current judgment.
type pairData struct {
	view store.PairView
	js   []store.Judgment
}

func (p *pairData) ref() store.PairRef {
	return store.PairRef{ID: p.view.ID, QueryID: p.view.QueryID, DocID: p.view.DocID}
}

// judgment returns the labeler's judgment on this pair.
func (p *pairData) judgment(labelerID int64) (store.Judgment, bool) {
	for _, j := range p.js {
		if j.LabelerID == labelerID {
			return j, true
		}
	}
	return store.Judgment{}, false
}

func loadPair(ctx context.Context, st *store.Store, id int64) (*pairData, error) {
	v, err := st.PairView(ctx, id)
	if err != nil {
		return nil, err
	}
	js, err := st.PairJudgments(ctx, id)
	if err != nil {
		return nil, err
	}
	return &pairData{view: v, js: js}, nil
}

// reveal is the pair just graded, shown with everyone's grades so the
// annotator learns where the models disagree.
type reveal struct {
	data  *pairData
	mine  store.Judgment
	taken time.Duration
}

// gradeState is the Grade screen: the current pair and the order ahead.
type gradeState struct {
	cur     *pairData
	shownAt time.Time
	loading int64 // pair being loaded to become current (0: none)

	queue     []store.PairRef // upcoming pairs not graded by me
	cursor    store.PairRef   // keyset position after the last page fetched
	fetching  bool
	wrapped   bool // the scan went past the end and restarted at the top
	exhausted bool // no ungraded pair left outside the queue
	skipped   []store.PairRef
	skipSet   map[int64]bool
	recent    map[int64]bool // given a verdict this session (write may be pending)
	later     []store.PairRef
	laterDone bool // "judge later" pairs were fetched once the rest ran out

	prefetched map[int64]*pairData
	inflight   map[int64]bool

	note     string // note for the current pair, saved with its grade
	scroll   int
	lines    []string // wrapped document text
	wrapFor  int      // width lines were wrapped for (0: stale)
	wrapPair int64

	last     *reveal
	progress store.Progress
	counted  bool
	done     bool // nothing left to grade
}

func (g *gradeState) init() {
	g.skipSet = map[int64]bool{}
	g.recent = map[int64]bool{}
	g.prefetched = map[int64]*pairData{}
	g.inflight = map[int64]bool{}
}

// ---- boot ---------------------------------------------------------------

type bootMsg struct {
	me       store.Labeler
	labelers []store.Labeler
	progress store.Progress
	refs     []store.PairRef
	cursor   store.PairRef
	wrapped  bool
	first    *pairData
	err      error
}

// bootCmd loads what the first frame needs: the annotator's labeler, where
// the last session stopped, the first page of pairs and the first pair.
func (m *Model) bootCmd() tea.Cmd {
	st, ctx, name := m.st, m.ctx, m.LabelerName()
	return func() tea.Msg {
		var b bootMsg
		b.me, b.err = st.EnsureLabeler(ctx, name, store.KindHuman)
		if b.err != nil {
			return b
		}
		if b.labelers, b.err = st.Labelers(ctx); b.err != nil {
			return b
		}
		if b.progress, b.err = st.LabelerProgress(ctx, b.me.ID); b.err != nil {
			return b
		}
		last, ok, err := st.LastSet(ctx, b.me.ID)
		if b.err = err; err != nil {
			return b
		}
		if ok {
			// Resume at the start of the query last worked on, so its
			// remaining pairs come first.
			b.cursor = store.PairRef{QueryID: last.QueryID}
		}
		if b.refs, b.err = st.NextUngraded(ctx, b.me.ID, b.cursor.QueryID, b.cursor.DocID, pageSize); b.err != nil {
			return b
		}
		if len(b.refs) == 0 && b.cursor.QueryID != 0 {
			b.wrapped = true
			b.cursor = store.PairRef{}
			if b.refs, b.err = st.NextUngraded(ctx, b.me.ID, 0, 0, pageSize); b.err != nil {
				return b
			}
		}
		if len(b.refs) > 0 {
			b.first, b.err = loadPair(ctx, st, b.refs[0].ID)
		}
		return b
	}
}

const pageSize = 64

func (m *Model) onBoot(b bootMsg) tea.Cmd {
	if b.err != nil {
		m.fatal = fmt.Errorf("cannot open the workbench: %w", b.err)
		m.booted = true
		return nil
	}
	m.booted = true
	m.me, m.labelers = b.me, b.labelers
	g := &m.grade
	g.progress, g.counted = b.progress, true
	g.wrapped = b.wrapped
	if len(b.refs) > 0 {
		g.cursor = b.refs[len(b.refs)-1]
		g.queue = b.refs[1:]
		if len(b.refs) < pageSize {
			g.fetching = false
		}
		m.setCurrent(b.first)
	} else {
		g.exhausted = true
		g.cursor = store.PairRef{}
	}
	return tea.Batch(m.browse.loadCmd(m), m.grade.topUp(m))
}

// ---- messages -----------------------------------------------------------

type pageMsg struct {
	from    store.PairRef
	refs    []store.PairRef
	wrapped bool
	err     error
}

type laterMsg struct {
	refs []store.PairRef
	err  error
}

type pairLoadedMsg struct {
	id   int64
	data *pairData
	err  error
}

type progressMsg struct {
	p   store.Progress
	err error
}

func (g *gradeState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case pageMsg:
		return g.onPage(m, msg), true
	case laterMsg:
		g.fetching = false
		g.laterDone = true
		if msg.err != nil {
			m.setFlash("loading pairs: "+msg.err.Error(), true)
			return nil, true
		}
		for _, r := range msg.refs {
			if !g.recent[r.ID] && !g.skipSet[r.ID] && (g.cur == nil || g.cur.view.ID != r.ID) {
				g.later = append(g.later, r)
			}
		}
		if g.cur == nil && g.loading == 0 {
			return g.advance(m), true
		}
		return nil, true
	case pairLoadedMsg:
		delete(g.inflight, msg.id)
		if msg.err != nil {
			m.setFlash("loading pair: "+msg.err.Error(), true)
			if g.loading == msg.id {
				g.loading = 0
			}
			return nil, true
		}
		if g.loading == msg.id {
			g.loading = 0
			m.setCurrent(msg.data)
			return g.prefetch(m), true
		}
		g.prefetched[msg.id] = msg.data
		return nil, true
	case progressMsg:
		if msg.err == nil {
			g.progress, g.counted = msg.p, true
		}
		return nil, true
	}
	return nil, false
}

// setCurrent shows a pair and starts its clock.
func (m *Model) setCurrent(p *pairData) {
	g := &m.grade
	g.cur = p
	g.shownAt = m.now()
	g.scroll = 0
	g.wrapFor = 0
	g.note = ""
	if p != nil {
		if j, ok := p.judgment(m.me.ID); ok {
			g.note = j.Note
		}
	}
	g.done = p == nil
}

// topUp fetches the next page when the queue runs low.
func (g *gradeState) topUp(m *Model) tea.Cmd {
	if g.fetching || len(g.queue) >= pageSize/4 || m.me.ID == 0 {
		return nil
	}
	if g.exhausted {
		if g.laterDone {
			return nil
		}
		g.fetching = true
		st, ctx, me := m.st, m.ctx, m.me.ID
		return func() tea.Msg {
			refs, err := st.PairsWithStatus(ctx, me, store.StatusUnsure, 10000)
			return laterMsg{refs: refs, err: err}
		}
	}
	g.fetching = true
	st, ctx, me, from := m.st, m.ctx, m.me.ID, g.cursor
	return func() tea.Msg {
		refs, err := st.NextUngraded(ctx, me, from.QueryID, from.DocID, pageSize)
		return pageMsg{from: from, refs: refs, err: err}
	}
}

func (g *gradeState) onPage(m *Model, msg pageMsg) tea.Cmd {
	g.fetching = false
	if msg.err != nil {
		m.setFlash("loading pairs: "+msg.err.Error(), true)
		return nil
	}
	if len(msg.refs) == 0 {
		if msg.from != (store.PairRef{}) && !g.wrapped {
			g.wrapped = true
			g.cursor = store.PairRef{}
			return g.topUp(m)
		}
		g.exhausted = true
		var cmd tea.Cmd
		if g.cur == nil && g.loading == 0 {
			cmd = g.advance(m)
		}
		return tea.Batch(cmd, g.topUp(m))
	}
	g.cursor = msg.refs[len(msg.refs)-1]
	queued := make(map[int64]bool, len(g.queue))
	for _, r := range g.queue {
		queued[r.ID] = true
	}
	for _, r := range msg.refs {
		if g.recent[r.ID] || g.skipSet[r.ID] || queued[r.ID] || (g.cur != nil && g.cur.view.ID == r.ID) || g.loading == r.ID {
			continue
		}
		g.queue = append(g.queue, r)
	}
	var cmds []tea.Cmd
	if g.cur == nil && g.loading == 0 {
		cmds = append(cmds, g.advance(m))
	}
	cmds = append(cmds, g.topUp(m), g.prefetch(m))
	return tea.Batch(cmds...)
}

// next picks the pair to show after the current one: the queue (same query
// first), then the skipped pairs, then the ones marked "judge later".
func (g *gradeState) next() (store.PairRef, bool) {
	if len(g.queue) > 0 {
		r := g.queue[0]
		g.queue = g.queue[1:]
		return r, true
	}
	if !g.exhausted {
		return store.PairRef{}, false
	}
	for len(g.skipped) > 0 {
		r := g.skipped[0]
		g.skipped = g.skipped[1:]
		delete(g.skipSet, r.ID)
		if !g.recent[r.ID] {
			return r, true
		}
	}
	for len(g.later) > 0 {
		r := g.later[0]
		g.later = g.later[1:]
		if !g.recent[r.ID] {
			return r, true
		}
	}
	return store.PairRef{}, false
}

// advance moves to the next pair, instantly when it was prefetched.
func (g *gradeState) advance(m *Model) tea.Cmd {
	r, ok := g.next()
	if !ok {
		m.setCurrent(nil)
		g.done = g.exhausted && g.laterDone && !g.fetching
		return g.topUp(m)
	}
	return tea.Batch(g.show(m, r.ID), g.topUp(m))
}

// show makes a pair current, loading it unless it was prefetched.
func (g *gradeState) show(m *Model, id int64) tea.Cmd {
	if p, ok := g.prefetched[id]; ok {
		delete(g.prefetched, id)
		m.setCurrent(p)
		g.loading = 0
		return g.prefetch(m)
	}
	m.setCurrent(nil)
	g.done = false
	g.loading = id
	g.inflight[id] = true
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		p, err := loadPair(ctx, st, id)
		return pairLoadedMsg{id: id, data: p, err: err}
	}
}

// prefetch loads the next two pairs so grading never waits on the disk.
func (g *gradeState) prefetch(m *Model) tea.Cmd {
	want := map[int64]bool{}
	for i := 0; i < len(g.queue) && i < 2; i++ {
		want[g.queue[i].ID] = true
	}
	for id := range g.prefetched {
		if !want[id] {
			delete(g.prefetched, id)
		}
	}
	var cmds []tea.Cmd
	st, ctx := m.st, m.ctx
	for id := range want {
		if g.prefetched[id] != nil || g.inflight[id] {
			continue
		}
		g.inflight[id] = true
		cmds = append(cmds, func() tea.Msg {
			p, err := loadPair(ctx, st, id)
			return pairLoadedMsg{id: id, data: p, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// reopen shows a pair again (after an undo), putting the current one back
// at the front of the queue.
func (g *gradeState) reopen(m *Model, id int64) tea.Cmd {
	delete(g.recent, id)
	if g.cur != nil && g.cur.view.ID != id {
		g.queue = append([]store.PairRef{g.cur.ref()}, g.queue...)
	}
	g.last = nil
	g.prefetched = map[int64]*pairData{}
	return g.show(m, id)
}

func (g *gradeState) progressCmd(m *Model) tea.Cmd {
	if m.me.ID == 0 {
		return nil
	}
	st, ctx, me := m.st, m.ctx, m.me.ID
	return func() tea.Msg {
		p, err := st.LabelerProgress(ctx, me)
		return progressMsg{p: p, err: err}
	}
}

// ---- verdicts -----------------------------------------------------------

// verdict records a grade (status ok) or "judge later" (status unsure) on a
// pair and returns the write command. It updates the counters at once.
func (m *Model) verdict(p *pairData, grade int, status string, note string) tea.Cmd {
	j := store.Judgment{
		PairID: p.view.ID, LabelerID: m.me.ID, Grade: grade, Status: status, Note: note,
	}
	if m.screen == scrGrade && m.grade.cur == p {
		j.LatencyMS = float64(m.now().Sub(m.grade.shownAt).Microseconds()) / 1000
	} else if m.screen == scrPair && m.pair.data == p {
		j.LatencyMS = float64(m.now().Sub(m.pair.shownAt).Microseconds()) / 1000
	}
	prev, had := p.judgment(m.me.ID)
	g := &m.grade
	if had {
		bumpProgress(&g.progress, prev.Status, -1)
	}
	bumpProgress(&g.progress, status, +1)
	g.recent[p.view.ID] = true
	// Reflect it in the pair's data right away (Pair screen, reveal).
	js := make([]store.Judgment, 0, len(p.js)+1)
	for _, x := range p.js {
		if x.LabelerID != m.me.ID {
			js = append(js, x)
		}
	}
	js = append(js, j)
	p.js = js
	return m.enqueue(writeOp{kind: writePut, j: j})
}

func bumpProgress(p *store.Progress, status string, d int) {
	switch status {
	case store.StatusOK:
		p.Graded += d
	case store.StatusUnsure:
		p.Unsure += d
	default:
		p.Other += d
	}
}

func (g *gradeState) key(m *Model, key string) (tea.Cmd, bool) {
	if gr, ok := m.digit(key); ok {
		if g.cur == nil {
			return nil, true
		}
		p := g.cur
		mine := store.Judgment{PairID: p.view.ID, LabelerID: m.me.ID, Grade: gr, Status: store.StatusOK, Note: g.note}
		taken := m.now().Sub(g.shownAt)
		cmd := m.verdict(p, gr, store.StatusOK, g.note)
		g.last = &reveal{data: p, mine: mine, taken: taken}
		return tea.Batch(cmd, g.advance(m)), true
	}
	switch key {
	case "x":
		if g.cur == nil {
			return nil, true
		}
		cmd := m.verdict(g.cur, 0, store.StatusUnsure, g.note)
		m.setFlash("marked unsure: it comes back once the rest is done", false)
		g.last = nil
		return tea.Batch(cmd, g.advance(m)), true
	case "s":
		if g.cur == nil {
			return nil, true
		}
		r := g.cur.ref()
		if !g.skipSet[r.ID] {
			g.skipped = append(g.skipped, r)
			g.skipSet[r.ID] = true
		}
		g.last = nil
		return g.advance(m), true
	case "n":
		if g.cur == nil {
			return nil, true
		}
		p := g.cur
		m.input = newInput("note", g.note, func(m *Model, text string) tea.Cmd {
			return m.saveNote(p, text)
		})
		return nil, true
	case "j", "down":
		g.scroll++
		return nil, true
	case "k", "up":
		g.scroll = max(g.scroll-1, 0)
		return nil, true
	case "space", "pgdown", "f":
		g.scroll += max(g.textHeight(m)-1, 1)
		return nil, true
	case "pgup":
		g.scroll = max(g.scroll-max(g.textHeight(m)-1, 1), 0)
		return nil, true
	case "g", "home":
		g.scroll = 0
		return nil, true
	case "enter":
		if g.cur != nil {
			return m.openPair(g.cur.view.ID), true
		}
		return nil, true
	case "r":
		g.exhausted, g.laterDone, g.wrapped = false, false, false
		g.cursor = store.PairRef{}
		cmds := []tea.Cmd{g.progressCmd(m), g.topUp(m)}
		return tea.Batch(cmds...), true
	}
	return nil, false
}

// saveNote attaches a note to a pair: at once when the annotator already
// judged it, otherwise with the grade to come.
func (m *Model) saveNote(p *pairData, text string) tea.Cmd {
	if m.grade.cur == p {
		m.grade.note = text
	}
	if m.pair.data == p {
		m.pair.note = text
	}
	j, ok := p.judgment(m.me.ID)
	if !ok {
		m.setFlash("note kept: it is saved with your grade", false)
		return nil
	}
	j.Note = text
	m.setFlash("note saved", false)
	return m.enqueue(writeOp{kind: writePut, j: j})
}

func (g *gradeState) progressText(m *Model) string {
	if !g.counted {
		return ""
	}
	p := g.progress
	s := fmt.Sprintf("graded by me %d · left %d", p.Graded, p.Left())
	if p.Unsure > 0 {
		s += fmt.Sprintf(" · unsure %d", p.Unsure)
	}
	if n := len(g.skipped); n > 0 {
		s += fmt.Sprintf(" · skipped %d", n)
	}
	return s + fmt.Sprintf(" · %d pairs", p.Pairs)
}

// ---- view ---------------------------------------------------------------

// layout of the Grade screen: fixed parts around a scrolling document.
func (g *gradeState) textHeight(m *Model) int {
	return max(m.height-3-g.fixedRows(m), 1)
}

func (g *gradeState) fixedRows(m *Model) int {
	// query, meta, rule, [text], rule, scale levels, models, last
	return 3 + 1 + len(scaleLines(m, m.width, -1)) + 2
}

func (g *gradeState) view(m *Model, w, h int) []string {
	s := m.sty
	if g.cur == nil {
		if g.done && !g.fetching && g.loading == 0 {
			return []string{"", s.ok.Render("  Nothing left to grade."), "",
				s.muted.Render("  Every pair has your grade (or waits as unsure)."),
				s.muted.Render("  Browse (tab) to review, or press r to look for new pairs.")}
		}
		return []string{"", s.muted.Render("  loading…")}
	}
	p := g.cur
	v := p.view
	var out []string
	out = append(out, " "+s.muted.Render("Query "+v.QueryExtID+"  ")+s.header.Render(v.QueryText))
	out = append(out, " "+metaLine(m, v.Doc))
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	scale := scaleLines(m, w, -1)
	th := max(h-3-1-len(scale)-2, 1)
	if g.wrapFor != w || g.wrapPair != v.ID {
		g.lines = wrapText(v.Doc.Body, w-2)
		g.wrapFor, g.wrapPair = w, v.ID
	}
	terms := queryTerms(v.QueryText)
	g.scroll = min(g.scroll, max(len(g.lines)-th, 0))
	for i := 0; i < th; i++ {
		li := g.scroll + i
		if li < len(g.lines) {
			out = append(out, " "+highlight(s, g.lines[li], terms))
		} else {
			out = append(out, "")
		}
	}
	more := ""
	if len(g.lines) > th {
		more = fmt.Sprintf(" %d–%d of %d lines ", g.scroll+1, min(g.scroll+th, len(g.lines)), len(g.lines))
	}
	out = append(out, s.muted.Render(strings.Repeat("─", max(w-len(more)-2, 0))+more+"──"))
	out = append(out, scale...)
	out = append(out, g.modelsLine(m, p, w))
	out = append(out, g.lastLine(m, w))
	return out
}

// metaLine is the document's title and metadata.
func metaLine(m *Model, d store.Document) string {
	s := m.sty
	title := d.Title
	if title == "" {
		title = "(untitled)"
	}
	parts := []string{s.header.Render(title), s.muted.Render(d.ExtID)}
	if d.Author != "" {
		parts = append(parts, s.text.Render(d.Author))
	}
	if path := docPath(d); path != "" {
		parts = append(parts, s.accent.Render(path))
	}
	if d.Type != "" {
		parts = append(parts, s.text.Render(d.Type))
	}
	if !d.Modified.IsZero() {
		parts = append(parts, s.text.Render(d.Modified.UTC().Format("2006-01-02")))
	}
	return strings.Join(parts, s.muted.Render(" · "))
}

func docPath(d store.Document) string {
	if d.URL != "" {
		return d.URL
	}
	if p, ok := d.Meta["path"].(string); ok {
		return p
	}
	return ""
}

// scaleLines shows every level with its name and full description
// (wrapped under itself when it does not fit); mine marks the annotator's
// grade (-1: none).
func scaleLines(m *Model, w int, mine int) []string {
	s := m.sty
	nw := 0
	for _, l := range m.scale.Levels {
		nw = max(nw, ansi.StringWidth(fmt.Sprintf("%d %s", l.Grade, l.Name)))
	}
	dw := max(w-4-nw-2, 20)
	var out []string
	for i, l := range m.scale.Levels {
		mark := "  "
		if l.Grade == mine {
			mark = s.accent.Render("▶ ")
		}
		name := s.gradeStyle(i).Render(pad(fmt.Sprintf("%d %s", l.Grade, l.Name), nw))
		for k, ln := range wrapText(l.Description, dw) {
			if k == 0 {
				out = append(out, " "+mark+name+"  "+s.muted.Render(ln))
			} else {
				out = append(out, "   "+strings.Repeat(" ", nw)+"  "+s.muted.Render(ln))
			}
		}
	}
	return out
}

// modelsLine shows the other labelers' grades, or why they are hidden.
func (g *gradeState) modelsLine(m *Model, p *pairData, w int) string {
	s := m.sty
	mine, graded := p.judgment(m.me.ID)
	prefix := " " + s.muted.Render("others ")
	if m.blind && !(graded && mine.Status == store.StatusOK) {
		n := 0
		for _, j := range p.js {
			if j.LabelerID != m.me.ID && j.Status == store.StatusOK {
				n++
			}
		}
		if n == 0 {
			return prefix + s.muted.Render("no grades yet")
		}
		return prefix + s.muted.Render(fmt.Sprintf("%d hidden until you grade (b: show)", n))
	}
	line := gradesSummary(m, p, graded)
	if note := g.note; note != "" {
		line += s.muted.Render("  note: ") + s.text.Render(note)
	}
	return prefix + line
}

// gradesSummary lists everyone's grades on a pair: "you 2 · gpt 3 · …".
func gradesSummary(m *Model, p *pairData, includeMe bool) string {
	s := m.sty
	var parts []string
	if mine, ok := p.judgment(m.me.ID); ok && includeMe {
		parts = append(parts, s.header.Render("you ")+verdictText(m, mine))
	}
	for _, l := range orderLabelers(m.labelers) {
		if l.ID == m.me.ID {
			continue
		}
		j, ok := p.judgment(l.ID)
		if !ok {
			continue
		}
		parts = append(parts, s.muted.Render(shortName(l.Name, 14)+" ")+verdictText(m, j))
	}
	if len(parts) == 0 {
		return s.muted.Render("no grades yet")
	}
	return strings.Join(parts, s.muted.Render(" · "))
}

func verdictText(m *Model, j store.Judgment) string {
	switch j.Status {
	case store.StatusOK:
		return m.sty.gradeStyle(m.levelIndex(j.Grade)).Render(fmt.Sprint(j.Grade))
	case store.StatusUnsure:
		return m.sty.warn.Render("?")
	default:
		return m.sty.bad.Render("✗")
	}
}

// lastLine reveals the pair just graded beside everyone else's grades.
func (g *gradeState) lastLine(m *Model, w int) string {
	s := m.sty
	if g.last == nil {
		if g.note != "" && m.blind {
			return " " + s.muted.Render("note: ") + s.text.Render(g.note)
		}
		return ""
	}
	r := g.last
	lo, hi := r.mine.Grade, r.mine.Grade
	for _, j := range r.data.js {
		if j.Status == store.StatusOK {
			lo, hi = min(lo, j.Grade), max(hi, j.Grade)
		}
	}
	flag := ""
	if hi-lo >= 2 {
		flag = s.bad.Render("  ⚠ disagree by ") + s.bad.Render(fmt.Sprint(hi-lo))
	} else if hi != lo {
		flag = s.warn.Render("  ~ off by 1")
	}
	return " " + s.muted.Render("last ") + s.text.Render(clip(r.data.view.Doc.ExtID, 12)) + s.muted.Render(": ") + gradesSummary(m, r.data, true) + flag
}

// ---- text ---------------------------------------------------------------

// wrapText word-wraps plain text to w cells, keeping paragraph breaks.
func wrapText(text string, w int) []string {
	w = max(w, 10)
	var out []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		para = strings.ReplaceAll(para, "\t", "    ")
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		var line []rune
		for _, word := range words {
			r := []rune(word)
			for len(r) > w { // hard-break very long words
				if len(line) > 0 {
					out = append(out, string(line))
					line = line[:0]
				}
				out = append(out, string(r[:w]))
				r = r[w:]
			}
			switch {
			case len(line) == 0:
				line = append(line, r...)
			case len(line)+1+len(r) <= w:
				line = append(line, ' ')
				line = append(line, r...)
			default:
				out = append(out, string(line))
				line = append(line[:0], r...)
			}
		}
		if len(line) > 0 {
			out = append(out, string(line))
		}
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be by for from how i in is it of on or that the this to was what when where which who why will with do does did can my me you your we our`) {
		stopwords[w] = true
	}
}

// queryTerms are the query's content words, stemmed.
func queryTerms(q string) map[string]bool {
	t := map[string]bool{}
	for _, w := range splitWords(strings.ToLower(q)) {
		if len(w) < 2 || stopwords[w] {
			continue
		}
		t[stem(w)] = true
	}
	return t
}

func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127
}

// stem is a light suffix stripper: enough to match "password" and
// "passwords", "reset" and "resetting".
func stem(w string) string {
	for _, suf := range []string{"ingly", "ing", "edly", "ed", "ies", "es", "s", "ly"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			w = w[:len(w)-len(suf)]
			break
		}
	}
	// resetting -> resett -> reset
	if n := len(w); n > 3 && w[n-1] == w[n-2] {
		w = w[:n-1]
	}
	return w
}

// highlight styles the query terms in one line of plain text.
func highlight(s styles, line string, terms map[string]bool) string {
	if len(terms) == 0 {
		return s.text.Render(line)
	}
	var b strings.Builder
	rs := []rune(line)
	plainStart := 0
	flush := func(end int) {
		if end > plainStart {
			b.WriteString(s.text.Render(string(rs[plainStart:end])))
		}
	}
	for i := 0; i < len(rs); {
		if !isWordRune(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && isWordRune(rs[j]) {
			j++
		}
		if terms[stem(strings.ToLower(string(rs[i:j])))] {
			flush(i)
			b.WriteString(s.hl.Render(string(rs[i:j])))
			plainStart = j
		}
		i = j
	}
	flush(len(rs))
	return b.String()
}
