package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// pairData is a pair with every labeler's current judgment.
type pairData struct {
	view   store.PairView
	js     []store.Judgment
	leased bool // leased to this annotator (drawn, or taken again)
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

// gradeState is the Grade screen: the pair on screen and the one drawn
// ahead of it. Pairs are drawn with store.NextPair, which leases each to
// this annotator so that no pair is shown to more than K annotators at once
// (K: the workspace setting "assign.k"), least-graded first, staying on the
// query of the previous pair.
type gradeState struct {
	cur     *pairData
	shownAt time.Time
	// reassigned: renewing the lease on the pair on screen failed (it
	// lapsed and others took it); a grade is still accepted.
	reassigned int64

	ahead   *pairData // drawn (and leased) while cur is on screen
	drawing bool      // a draw is in flight
	flying  int       // draws and loads in flight, disowned ones included
	// dropped are pairs drawn (leased) that will not be shown: given back
	// when quitting.
	dropped []int64
	drawSeq int   // bumped to disown draws in flight (undo, r)
	query   int64 // query of the last pair shown: draws stay on it

	// typed are keys pressed while no pair was on screen (booting, a draw
	// in flight): replayed in order once one is, so typing ahead loses
	// nothing.
	typed []tea.KeyPressMsg

	// trail are the pairs given a verdict or skipped here this session, in
	// order: the list the Pair screen walks when opened from Grade.
	trail []int64

	exhausted bool // NextPair had nothing left for me (skips honoured)
	skipped   []store.PairRef
	skipSet   map[int64]bool
	recent    map[int64]bool // given a verdict this session (write may be pending)
	later     []store.PairRef
	laterDone bool // "judge later" pairs were fetched once the rest ran out
	fetching  bool // the "judge later" list is being fetched

	note     string // note for the current pair, saved with its grade
	scroll   int
	lines    []string // wrapped document text
	wrapFor  int      // width lines were wrapped for (0: stale)
	wrapPair int64

	last       *reveal
	progress   store.Progress
	work       store.Workload // what the pool still holds for me at K
	recount    bool           // a count arrived stale: read again when writes are done
	paces      []float64      // my recent times on task (ms), oldest first
	counted    bool
	counting   bool // a count is being read
	resting    bool // the next count waits (see rest)
	countAgain bool // another was asked for meanwhile
	done       bool // nothing left to grade
}

func (g *gradeState) init() {
	g.skipSet = map[int64]bool{}
	g.recent = map[int64]bool{}
}

// ---- boot ---------------------------------------------------------------

type bootMsg struct {
	me       store.Labeler
	labelers []store.Labeler
	query    int64
	first    *pairData
	err      error
}

// bootCmd loads what the first frame needs: the annotator's labeler, where
// the last session stopped and the first pair (drawn and leased). The
// counts of the status line come after (onBoot): on ten million pairs they
// take longer than the first frame may.
func (m *Model) bootCmd() tea.Cmd {
	st, ctx, name, prio := m.st, m.ctx, m.LabelerName(), m.opts.Priority
	return func() tea.Msg {
		var b bootMsg
		b.me, b.err = st.EnsureLabeler(ctx, name, store.KindHuman)
		if b.err != nil {
			return b
		}
		if b.labelers, b.err = st.Labelers(ctx); b.err != nil {
			return b
		}
		last, ok, err := st.LastSet(ctx, b.me.ID)
		if b.err = err; err != nil {
			return b
		}
		if ok {
			// Resume on the query last worked on.
			b.query = last.QueryID
		}
		b.first, b.err = drawPair(ctx, st, b.me.ID, store.AssignOptions{QueryID: b.query, Priority: prio})
		return b
	}
}

// drawPair draws and leases the next pair with everyone's judgments on it
// (nil: nothing left to serve now).
func drawPair(ctx context.Context, st *store.Store, me int64, opt store.AssignOptions) (*pairData, error) {
	v, ok, err := st.NextPair(ctx, me, opt)
	if err != nil || !ok {
		return nil, err
	}
	js, err := st.PairJudgments(ctx, v.ID)
	if err != nil {
		return nil, err
	}
	return &pairData{view: v, js: js, leased: true}, nil
}

func (m *Model) onBoot(b bootMsg) tea.Cmd {
	if b.err != nil {
		m.fatal = fmt.Errorf("cannot open the workbench: %w", b.err)
		m.booted = true
		return nil
	}
	m.booted = true
	m.me, m.labelers = b.me, b.labelers
	g := &m.grade
	g.query = b.query
	cmds := []tea.Cmd{m.browse.loadCmd(m), g.countCmd(m, true)}
	if b.first != nil {
		m.setCurrent(b.first)
		cmds = append(cmds, g.replay(m))
	} else {
		g.exhausted = true
	}
	cmds = append(cmds, g.fill(m))
	return tea.Batch(cmds...)
}

// ---- messages -----------------------------------------------------------

// drawnMsg is the result of a draw.
type drawnMsg struct {
	seq  int
	data *pairData // nil: nothing to serve
	err  error
}

type laterMsg struct {
	refs []store.PairRef
	err  error
}

type pairLoadedMsg struct {
	seq  int
	id   int64
	data *pairData
	err  error
}

type progressMsg struct {
	// writes is how many writes of this session had been committed when
	// the counts were read: counts read before a write that is committed
	// (or queued) since would take back what the screen already shows.
	writes int
	p      store.Progress
	work   store.Workload
	paces  []float64 // read at boot only: then the session adds its own
	took   time.Duration
	err    error
}

// countTickMsg ends the rest between two counts (see countCmd).
type countTickMsg struct{}

// countRest is how long the counts rest after a read, in multiples of the
// read's own time: on ten million pairs one read takes a second or more
// of a core, and a labeling run changes the history every tick.
const countRest = 3

// paceWindow is how many recent grades the pace (and the ETA) is taken from.
const paceWindow = 200

// readProgress counts the annotator's judgments and what the pool still
// holds for them (and, at boot, their recent pace).
func readProgress(ctx context.Context, st *store.Store, me int64, paces bool) progressMsg {
	var msg progressMsg
	if msg.p, msg.err = st.LabelerProgress(ctx, me); msg.err != nil {
		return msg
	}
	if msg.work, msg.err = st.Workload(ctx, me, 0); msg.err != nil {
		return msg
	}
	if paces {
		msg.paces, msg.err = st.RecentLatencies(ctx, me, paceWindow)
	}
	return msg
}

func (g *gradeState) setProgress(msg progressMsg) {
	g.progress, g.work, g.counted = msg.p, msg.work, true
	if msg.paces != nil {
		g.paces = msg.paces
	}
}

// leaseTickMsg renews the lease on the pairs held (every leaseEvery).
type leaseTickMsg struct{}

// renewedMsg is the result of renewing the lease on a pair.
type renewedMsg struct {
	id  int64
	ok  bool
	err error
}

// leaseEvery is how often the lease on the pair on screen is renewed; a
// lease lasts store.DefaultLease.
const leaseEvery = 30 * time.Second

func (m *Model) leaseTickCmd() tea.Cmd {
	if !m.ticks {
		return nil
	}
	return tea.Tick(leaseEvery, func(time.Time) tea.Msg { return leaseTickMsg{} })
}

// renewCmd renews this annotator's leases on the pair on screen and the
// one drawn ahead.
func (g *gradeState) renewCmd(m *Model) tea.Cmd {
	if m.me.ID == 0 || m.quitting {
		return nil
	}
	var cmds []tea.Cmd
	st, ctx, me := m.st, m.ctx, m.me.ID
	for _, p := range []*pairData{g.cur, g.ahead} {
		if p == nil || !p.leased || g.recent[p.view.ID] {
			continue
		}
		id := p.view.ID
		cmds = append(cmds, func() tea.Msg {
			ok, err := st.RenewLease(ctx, id, me, 0, time.Time{})
			return renewedMsg{id: id, ok: ok, err: err}
		})
	}
	return tea.Batch(cmds...)
}

func (g *gradeState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case drawnMsg:
		g.flying--
		if m.quitting {
			// Draws in flight are waited for, and their pairs given back.
			if msg.seq == g.drawSeq {
				g.drawing = false
			}
			if msg.data != nil {
				g.dropped = append(g.dropped, msg.data.view.ID)
			}
			return m.maybeQuit(nil), true
		}
		return g.onDrawn(m, msg), true
	case leaseTickMsg:
		return tea.Batch(m.leaseTickCmd(), g.renewCmd(m)), true
	case renewedMsg:
		if msg.err != nil {
			m.setFlash("renewing the lease: "+msg.err.Error(), true)
			return nil, true
		}
		if g.cur != nil && g.cur.view.ID == msg.id && !g.recent[msg.id] {
			if msg.ok {
				g.reassigned = 0
			} else {
				g.reassigned = msg.id
			}
		}
		if !msg.ok && g.ahead != nil && g.ahead.view.ID == msg.id {
			// Nobody has seen it yet: draw another instead.
			g.ahead = nil
			return g.fill(m), true
		}
		return nil, true
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
		return g.fill(m), true
	case pairLoadedMsg:
		g.flying--
		if m.quitting {
			if msg.seq == g.drawSeq {
				g.drawing = false
			}
			if msg.data != nil && msg.data.leased {
				g.dropped = append(g.dropped, msg.id)
			}
			return m.maybeQuit(nil), true
		}
		if msg.seq != g.drawSeq {
			return nil, true
		}
		g.drawing = false
		if msg.err != nil {
			m.setFlash("loading pair: "+msg.err.Error(), true)
			return nil, true
		}
		return g.arrive(m, msg.data), true
	case countTickMsg:
		g.resting = false
		if g.countAgain {
			g.countAgain = false
			return g.progressCmd(m), true
		}
		return nil, true
	case progressMsg:
		g.counting = false
		again := g.rest(m, msg.took)
		if g.countAgain && !g.resting {
			g.countAgain = false
			again = g.progressCmd(m)
		}
		switch {
		case msg.err != nil:
			m.setFlash("counting pairs: "+msg.err.Error(), true)
		case msg.writes != m.committed || m.writing || len(m.writes) > 0:
			// Read before a write of mine landed: read again once none is
			// pending (onWriteDone), the counts shown meanwhile are right.
			g.recount = true
			if g.paces == nil {
				g.paces = msg.paces
			}
			if !m.writing && len(m.writes) == 0 {
				// Every write landed before this message: read again
				// (after the rest).
				g.recount = false
				if c := g.progressCmd(m); c != nil {
					again = c
				}
			}
		default:
			g.setProgress(msg)
		}
		return again, true
	}
	return nil, false
}

// onDrawn takes a drawn pair: on screen when none is, else ahead.
func (g *gradeState) onDrawn(m *Model, msg drawnMsg) tea.Cmd {
	if msg.seq != g.drawSeq {
		// Disowned (undo, r): its lease lapses or the next draw drops it.
		return nil
	}
	g.drawing = false
	if msg.err != nil {
		m.setFlash("drawing a pair: "+msg.err.Error(), true)
		return nil
	}
	if msg.data == nil {
		if len(g.skipped) > 0 {
			// Only skipped pairs are left: they come back, in order.
			g.skipped, g.skipSet = nil, map[int64]bool{}
			return g.fill(m)
		}
		g.exhausted = true
		return g.fill(m)
	}
	return g.arrive(m, msg.data)
}

// arrive places a pair that was drawn or loaded.
func (g *gradeState) arrive(m *Model, p *pairData) tea.Cmd {
	if p == nil {
		return g.fill(m)
	}
	switch {
	case g.cur == nil:
		m.setCurrent(p)
		var open tea.Cmd
		if m.screen == scrPair && m.pair.follow && m.pair.id == 0 {
			open = m.openPairFrom(p.view.ID, scrGrade) // the Pair screen waited for it
		}
		return tea.Batch(g.replay(m), g.fill(m), open)
	case g.ahead == nil && g.cur.view.ID != p.view.ID:
		g.ahead = p
	}
	return nil
}

// replay applies the keys typed while no pair was on screen.
func (g *gradeState) replay(m *Model) tea.Cmd {
	var cmds []tea.Cmd
	for len(g.typed) > 0 && g.cur != nil && m.input == nil && !m.quitting {
		k := g.typed[0]
		g.typed = g.typed[1:]
		cmd, _ := g.key(m, k)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// setCurrent shows a pair and starts its clock.
func (m *Model) setCurrent(p *pairData) {
	g := &m.grade
	g.cur = p
	g.shownAt = m.now()
	g.scroll = 0
	g.wrapFor = 0
	g.note = ""
	g.reassigned = 0
	if p != nil {
		g.query = p.view.QueryID
		if j, ok := p.judgment(m.me.ID); ok {
			g.note = j.Note
		}
	}
	g.done = false
}

// pendingPairs are the pairs with a write queued or in flight: a draw keeps
// their leases (their grade is not committed yet) and never serves them.
func (m *Model) pendingPairs() []int64 {
	var ids []int64
	if m.writing && m.writingPair != 0 {
		ids = append(ids, m.writingPair)
	}
	for _, w := range m.writes {
		ids = append(ids, w.j.PairID)
	}
	return ids
}

// fill draws what is missing: the pair on screen, else the one ahead; when
// NextPair has nothing left, the pairs marked "judge later".
func (g *gradeState) fill(m *Model) tea.Cmd {
	if m.me.ID == 0 || m.quitting || g.drawing || (g.cur != nil && g.ahead != nil) {
		g.updateDone()
		return nil
	}
	if g.exhausted {
		if g.cur != nil {
			return nil
		}
		for len(g.later) > 0 {
			r := g.later[0]
			g.later = g.later[1:]
			if !g.recent[r.ID] {
				return g.load(m, r.ID, false)
			}
		}
		if !g.laterDone && !g.fetching {
			g.fetching = true
			st, ctx, me := m.st, m.ctx, m.me.ID
			return func() tea.Msg {
				refs, err := st.PairsWithStatus(ctx, me, store.StatusUnsure, 10000)
				return laterMsg{refs: refs, err: err}
			}
		}
		g.updateDone()
		return nil
	}
	g.drawing = true
	keep := m.pendingPairs()
	if g.cur != nil {
		keep = append(keep, g.cur.view.ID)
	}
	skip := make([]int64, 0, len(g.skipped))
	for _, r := range g.skipped {
		skip = append(skip, r.ID)
	}
	opt := store.AssignOptions{QueryID: g.query, Skip: skip, Keep: keep, Priority: m.opts.Priority}
	st, ctx, me, seq := m.st, m.ctx, m.me.ID, g.drawSeq
	g.flying++
	return func() tea.Msg {
		p, err := drawPair(ctx, st, me, opt)
		return drawnMsg{seq: seq, data: p, err: err}
	}
}

func (g *gradeState) updateDone() {
	g.done = g.cur == nil && g.exhausted && g.laterDone && !g.fetching && !g.drawing && len(g.later) == 0
}

// advance moves to the pair drawn ahead (at once) and draws the next one.
func (g *gradeState) advance(m *Model) tea.Cmd {
	next := g.ahead
	g.ahead = nil
	if next != nil && g.recent[next.view.ID] {
		next = nil // judged meanwhile (Pair screen, Browse)
	}
	m.setCurrent(next)
	return g.fill(m)
}

// load shows a pair that is not drawn (after an undo, or marked "judge
// later"); lease: take the lease on it again when it can still be served.
func (g *gradeState) load(m *Model, id int64, lease bool) tea.Cmd {
	g.drawing = true
	g.flying++
	st, ctx, me, seq := m.st, m.ctx, m.me.ID, g.drawSeq
	return func() tea.Msg {
		p, err := loadPair(ctx, st, id)
		if err == nil && lease {
			p.leased, err = st.RenewLease(ctx, id, me, 0, time.Time{})
		}
		return pairLoadedMsg{seq: seq, id: id, data: p, err: err}
	}
}

// reopen shows a pair again (after an undo); the one on screen becomes the
// next, and the one drawn ahead goes back.
func (g *gradeState) reopen(m *Model, id int64) tea.Cmd {
	delete(g.recent, id)
	if i := slices.Index(g.trail, id); i >= 0 {
		g.trail = slices.Delete(g.trail, i, i+1)
	}
	g.last = nil
	g.drawSeq++ // disown draws in flight
	var cmds []tea.Cmd
	if g.ahead != nil {
		cmds = append(cmds, m.releaseCmd(g.ahead.view.ID))
		g.ahead = nil
	}
	if g.cur != nil && g.cur.view.ID != id {
		g.ahead = g.cur
	}
	g.cur = nil
	g.exhausted = false
	cmds = append(cmds, g.load(m, id, true))
	return tea.Batch(cmds...)
}

// releaseCmd gives back this annotator's lease on a pair.
func (m *Model) releaseCmd(id int64) tea.Cmd {
	st, ctx, me := m.st, context.WithoutCancel(m.ctx), m.me.ID
	return func() tea.Msg {
		_ = st.ReleaseLease(ctx, id, me)
		return nil
	}
}

// progressCmd reads the counts again; while a read is in flight it only
// notes that another is wanted (one read at a time: on a large workspace
// a read takes longer than a tick).
func (g *gradeState) progressCmd(m *Model) tea.Cmd { return g.countCmd(m, false) }

func (g *gradeState) countCmd(m *Model, paces bool) tea.Cmd {
	if m.me.ID == 0 {
		return nil
	}
	if g.counting || g.resting {
		g.countAgain = true
		return nil
	}
	g.counting = true
	st, ctx, me, writes := m.st, m.ctx, m.me.ID, m.committed
	return func() tea.Msg {
		start := time.Now()
		msg := readProgress(ctx, st, me, paces)
		msg.writes, msg.took = writes, time.Since(start)
		return msg
	}
}

// rest holds the next count back for countRest times the last one took
// (not in tests, which run without ticks).
func (g *gradeState) rest(m *Model, took time.Duration) tea.Cmd {
	if !m.ticks || took <= 0 {
		return nil
	}
	g.resting = true
	return tea.Tick(countRest*took, func(time.Time) tea.Msg { return countTickMsg{} })
}

// ---- verdicts -----------------------------------------------------------

// verdict records a grade (status ok) or "judge later" (status unsure) on a
// pair and returns the write command. It updates the counters at once.
func (m *Model) verdict(p *pairData, grade int, status string, note string) tea.Cmd {
	j := store.Judgment{
		PairID: p.view.ID, LabelerID: m.me.ID, Grade: grade, Status: status, Note: note,
	}
	if m.grade.cur == p {
		// Time on task counts from when Grade showed it, details included.
		j.LatencyMS = float64(m.now().Sub(m.grade.shownAt).Microseconds()) / 1000
	} else if m.screen == scrPair && m.pair.data == p {
		j.LatencyMS = float64(m.now().Sub(m.pair.shownAt).Microseconds()) / 1000
	}
	prev, had := p.judgment(m.me.ID)
	g := &m.grade
	if had {
		bumpProgress(&g.progress, prev.Status, -1)
	} else if p.leased {
		g.work.Left = max(g.work.Left-1, 0) // it was drawn for me: it was left
	}
	bumpProgress(&g.progress, status, +1)
	if status == store.StatusOK && j.LatencyMS > 0 {
		g.paces = append(g.paces, j.LatencyMS)
		if len(g.paces) > paceWindow {
			g.paces = g.paces[len(g.paces)-paceWindow:]
		}
	}
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

// typeAhead keeps a verdict key pressed while no pair is on screen (the
// next one is being drawn) to apply it to that pair when it arrives.
func (g *gradeState) typeAhead(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if !g.done && len(g.typed) < 1000 {
		g.typed = append(g.typed, k)
	}
	return nil, true
}

// maxTrail bounds the Grade trail the Pair screen walks.
const maxTrail = 1000

// onTrail records that the pair on screen was given a verdict or skipped.
func (g *gradeState) onTrail() {
	id := g.cur.view.ID
	if i := slices.Index(g.trail, id); i >= 0 {
		g.trail = slices.Delete(g.trail, i, i+1)
	}
	g.trail = append(g.trail, id)
	if len(g.trail) > maxTrail {
		g.trail = g.trail[len(g.trail)-maxTrail:]
	}
}

func (g *gradeState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	if gr, ok := m.digit(k); ok {
		if g.cur == nil {
			return g.typeAhead(k)
		}
		g.onTrail()
		p := g.cur
		mine := store.Judgment{PairID: p.view.ID, LabelerID: m.me.ID, Grade: gr, Status: store.StatusOK, Note: g.note}
		taken := m.now().Sub(g.shownAt)
		cmd := m.verdict(p, gr, store.StatusOK, g.note)
		g.last = &reveal{data: p, mine: mine, taken: taken}
		return tea.Batch(cmd, g.advance(m)), true
	}
	switch {
	case key.Matches(k, km.unsure):
		if g.cur == nil {
			return g.typeAhead(k)
		}
		g.onTrail()
		cmd := m.verdict(g.cur, 0, store.StatusUnsure, g.note)
		m.setFlash("marked unsure: it comes back once the rest is done", false)
		g.last = nil
		return tea.Batch(cmd, g.advance(m)), true
	case key.Matches(k, km.skip):
		if g.cur == nil {
			return g.typeAhead(k)
		}
		g.onTrail()
		r := g.cur.ref()
		if !g.skipSet[r.ID] {
			g.skipped = append(g.skipped, r)
			g.skipSet[r.ID] = true
		}
		g.last = nil
		return g.advance(m), true
	case key.Matches(k, km.note):
		if g.cur == nil {
			return nil, true
		}
		p := g.cur
		m.input = m.newInput("note", g.note, func(m *Model, text string) tea.Cmd {
			return m.saveNote(p, text)
		})
		return nil, true
	case key.Matches(k, km.down):
		g.scroll++
		return nil, true
	case key.Matches(k, km.up):
		g.scroll = max(g.scroll-1, 0)
		return nil, true
	case key.Matches(k, km.pageDown):
		g.scroll += max(g.textHeight(m)-1, 1)
		return nil, true
	case key.Matches(k, km.pageUp):
		g.scroll = max(g.scroll-max(g.textHeight(m)-1, 1), 0)
		return nil, true
	case key.Matches(k, km.top):
		g.scroll = 0
		return nil, true
	case key.Matches(k, km.open):
		if g.cur != nil {
			return m.openPair(g.cur.view.ID), true
		}
		return nil, true
	case key.Matches(k, km.again):
		g.exhausted, g.laterDone = false, false
		return tea.Batch(g.progressCmd(m), g.fill(m)), true
	}
	return nil, false
}

// saveNote attaches a note to a pair: at once when the annotator already
// judged it, otherwise with the grade to come.
func (m *Model) saveNote(p *pairData, text string) tea.Cmd {
	if c := m.grade.cur; c != nil && c.view.ID == p.view.ID {
		m.grade.note = text
	}
	if m.pair.id == p.view.ID {
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

// progressText is the annotator's progress: a bar and percentage of their
// share (graded, against graded + unsure + left), then the counts and the
// time left at their own pace.
func (g *gradeState) progressText(m *Model) string {
	if !g.counted {
		return m.sty.muted.Render("counting pairs…")
	}
	s := m.sty
	p, wk := g.progress, g.work
	var out []string
	if total := p.Graded + p.Unsure + wk.Left; total > 0 {
		frac := float64(p.Graded) / float64(total)
		out = append(out, s.accent.Render("▕"+bar(frac, progressBarWidth))+s.muted.Render("▏")+
			s.text.Render(fmt.Sprintf(" %s", percent(frac))))
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("graded by me %s", words.Int(p.Graded)), fmt.Sprintf("left %s", words.Int(wk.Left)))
	if eta := g.etaText(); eta != "" {
		parts = append(parts, eta)
	}
	if p.Unsure > 0 {
		parts = append(parts, fmt.Sprintf("unsure %s", words.Int(p.Unsure)))
	}
	if n := len(g.skipped); n > 0 {
		parts = append(parts, fmt.Sprintf("skipped %s", words.Int(n)))
	}
	if wk.Full > 0 {
		parts = append(parts, fmt.Sprintf("%s already %s", words.Int(wk.Full), hasHave(wk.Full, wk.K)))
	}
	parts = append(parts, words.Count(p.Pairs, "pair"))
	out = append(out, s.muted.Render(strings.Join(parts, " · ")))
	return strings.Join(out, "  ")
}

const progressBarWidth = 12

// percent rounds down, so that 100% means done and 0% nothing done.
func percent(frac float64) string {
	if frac > 0 && frac < 0.01 {
		return "<1%"
	}
	return fmt.Sprintf("%d%%", int(frac*100))
}

// minPaceSample is how many grades the pace is taken from before the time
// left is more than a rough estimate.
const minPaceSample = 30

// etaText is the time left at this annotator's own pace: the pairs left
// times their median time on task (robust to a pause), marked rough while
// it rests on fewer than minPaceSample grades.
func (g *gradeState) etaText() string {
	if g.work.Left == 0 || len(g.paces) == 0 {
		return ""
	}
	ps := slices.Clone(g.paces)
	slices.Sort(ps)
	med := ps[len(ps)/2]
	if len(ps)%2 == 0 {
		med = (ps[len(ps)/2-1] + ps[len(ps)/2]) / 2
	}
	eta := time.Duration(med*float64(g.work.Left)) * time.Millisecond
	text := "about " + fmtDur(eta) + " at your pace"
	if len(ps) < minPaceSample {
		text = "≈" + fmtDur(eta) + " at your pace (rough: " + words.Count(len(ps), "grade") + ")"
	}
	return text
}

// ---- view ---------------------------------------------------------------

// layout of the Grade screen: fixed parts around a scrolling document.
func (g *gradeState) textHeight(m *Model) int {
	return max(m.height-3-g.fixedRows(m), 1)
}

func (g *gradeState) fixedRows(m *Model) int {
	// query and metadata, rule, [text], rule, scale levels, models, last
	head := 2
	if g.cur != nil {
		head = len(pairHead(m, g.cur.view, m.width))
	}
	return head + 1 + 1 + len(scaleLines(m, m.width, -1)) + 2
}

func (g *gradeState) view(m *Model, w, h int) []string {
	s := m.sty
	if g.cur == nil {
		if g.done && g.counted && g.progress.Pairs == 0 {
			return []string{"", s.header.Render("  This workspace has no pairs to grade yet."), "",
				s.muted.Render("  Import some:   qrelbench import pairs FILE.jsonl"),
				s.muted.Render("  or build them: qrelbench synth, then qrelbench mine"),
				s.muted.Render("  (both can also be started from the Runs screen: ctrl+r, n)."),
				s.muted.Render("  Then press r here.")}
		}
		if g.done && !g.counted {
			return []string{"", s.muted.Render("  No pair to serve you now; counting the workspace's pairs…")}
		}
		if g.done && g.work.Full > 0 {
			return g.fullView(m, w)
		}
		if g.done {
			return []string{"", s.ok.Render("  Nothing left to grade."), "",
				s.muted.Render("  Every pair has your grade (or waits as unsure)."),
				s.muted.Render("  Browse (tab) to review, or press r to look for new pairs.")}
		}
		return []string{"", s.muted.Render("  loading…")}
	}
	p := g.cur
	v := p.view
	out := pairHead(m, v, w)
	out = append(out, s.muted.Render(strings.Repeat("─", w)))
	scale := scaleLines(m, w, -1)
	th := max(h-len(out)-1-len(scale)-2, 1)
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

// pairHead is the query and the document's title and metadata, wrapped to
// w cells (each at most maxHeadLines lines).
func pairHead(m *Model, v store.PairView, w int) []string {
	return append(queryLines(m, v.QueryExtID, v.QueryText, w), metaLines(m, v.Doc, w)...)
}

// maxHeadLines bounds the query and the metadata lines each, so the
// document keeps the room it needs.
const maxHeadLines = 3

// queryLines shows the query's text (wrapped) after its id.
func queryLines(m *Model, extID, text string, w int) []string {
	s := m.sty
	label := "Query " + extID + "  "
	lw := ansi.StringWidth(label) + 1
	var out []string
	for i, ln := range wrapText(text, max(w-lw-1, 10)) {
		if i == maxHeadLines {
			out[i-1] = clip(out[i-1], w-1)
			break
		}
		if i == 0 {
			out = append(out, " "+s.muted.Render(label)+s.header.Render(ln))
		} else {
			out = append(out, strings.Repeat(" ", lw)+s.header.Render(ln))
		}
	}
	if len(out) == 0 {
		out = append(out, " "+s.muted.Render(label))
	}
	return out
}

// fullView says why nothing is served although pairs lack this
// annotator's grade: they already have K human grades (imported ones
// count), from whom, and how to grade them anyway.
func (g *gradeState) fullView(m *Model, w int) []string {
	s := m.sty
	wk := g.work
	var by []string
	for _, c := range wk.FullBy {
		by = append(by, fmt.Sprintf("%s (%s)", c.Labeler, words.Int(c.Pairs)))
	}
	from := ""
	if len(by) > 0 {
		from = ", from " + strings.Join(by, ", ")
	}
	kWord := "one human grade"
	if wk.K > 1 {
		kWord = words.Count(wk.K, "human grade")
	}
	out := []string{"", s.header.Render("  Nothing left for you to grade at K = " + fmt.Sprint(wk.K) + "."), ""}
	para := func(text string, st func(...string) string) {
		for _, ln := range wrapText(text, max(w-4, 20)) {
			out = append(out, st("  "+ln))
		}
	}
	para(fmt.Sprintf("%s without your grade already %s%s: the workspace asks for %s per pair (K = %d), so none of them is served.",
		words.Count(wk.Full, "pair"), hasHave(wk.Full, wk.K), from, kWord, wk.K), s.text.Render)
	if g.progress.Graded+g.progress.Unsure > 0 {
		para("Every other pair has your grade (or waits as unsure).", s.muted.Render)
	}
	out = append(out, "")
	if cmd := m.opts.Relaunch; cmd != "" {
		para(fmt.Sprintf("To grade them anyway, as another opinion beside theirs, ask for %d human grades per pair:", wk.K+1), s.muted.Render)
		out = append(out, "    "+s.accent.Render(fmt.Sprintf("%s --k %d", cmd, wk.K+1)))
		para("(K is kept in the workspace, as `serve --k` keeps it.)", s.muted.Render)
	} else {
		para(fmt.Sprintf("To grade them anyway, ask whoever runs `qrelbench serve` to restart it with --k %d.", wk.K+1), s.muted.Render)
	}
	out = append(out, "")
	para("Browse (tab) to review them, or press r to look for new pairs.", s.muted.Render)
	return out
}

// hasHave is "has 1 human grade" / "have 2 human grades" for n pairs.
func hasHave(n, k int) string {
	verb := "have"
	if n == 1 {
		verb = "has"
	}
	return verb + " " + words.Count(k, "human grade")
}

// metaLines is the document's title and metadata, each distinct thing
// once (a title, id or path that repeats another is left out), wrapped at
// the separators so that a long URL or path is shown whole when it fits in
// maxHeadLines lines.
func metaLines(m *Model, d store.Document, w int) []string {
	s := m.sty
	type part struct {
		text string
		sty  func(...string) string
	}
	title, id, path := d.Title, d.ExtID, docPath(d)
	same := func(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }
	if same(path, id) || same(path, title) {
		path = ""
	}
	if path != "" && strings.HasSuffix(strings.ToLower(path), "/"+strings.ToLower(id)) {
		id = "" // the path ends with the id: it says it
	}
	if same(id, title) {
		id = ""
	}
	var parts []part
	if title == "" {
		parts = append(parts, part{"(untitled)", s.muted.Render})
	} else {
		parts = append(parts, part{title, s.header.Render})
	}
	if id != "" {
		parts = append(parts, part{id, s.muted.Render})
	}
	if d.Author != "" {
		parts = append(parts, part{d.Author, s.text.Render})
	}
	if path != "" {
		parts = append(parts, part{path, s.accent.Render})
	}
	if d.Type != "" {
		parts = append(parts, part{d.Type, s.text.Render})
	}
	if !d.Modified.IsZero() {
		parts = append(parts, part{d.Modified.UTC().Format("2006-01-02"), s.text.Render})
	}
	const sep = " · "
	room := max(w-2, 10)
	var out []string
	line, used := "", 0
	flush := func() {
		if used > 0 {
			out = append(out, " "+line)
		}
		line, used = "", 0
	}
	for _, p := range parts {
		pw := ansi.StringWidth(p.text)
		if used > 0 && used+len(sep)+pw > room {
			line += s.muted.Render(" ·")
			flush()
		}
		if used > 0 {
			line += s.muted.Render(sep)
			used += len(sep)
		}
		// A part wider than a line (a URL) is broken across lines.
		rs := []rune(p.text)
		for ansi.StringWidth(string(rs)) > room-used {
			n := max(room-used, 1)
			line += p.sty(string(rs[:n]))
			used += n
			flush()
			rs = rs[n:]
		}
		line += p.sty(string(rs))
		used += ansi.StringWidth(string(rs))
	}
	flush()
	if len(out) > maxHeadLines {
		out = out[:maxHeadLines]
		out[maxHeadLines-1] = ansi.Truncate(out[maxHeadLines-1], w-1, "…")
	}
	return out
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

// gradesSummary lists everyone's grades on a pair: "you 2 · gpt 3 · …",
// names shortened as on every screen (with what they stand for after).
func gradesSummary(m *Model, p *pairData, includeMe bool) string {
	s := m.sty
	var parts []string
	if mine, ok := p.judgment(m.me.ID); ok && includeMe {
		parts = append(parts, s.header.Render("you ")+verdictText(m, mine))
	}
	var labs []store.Labeler
	var js []store.Judgment
	for _, l := range orderLabelers(m.labelers) {
		if l.ID == m.me.ID {
			continue
		}
		if j, ok := p.judgment(l.ID); ok {
			labs, js = append(labs, l), append(js, j)
		}
	}
	names, abbrev := labelerLabels(labs, m.me.ID, 14)
	for i, j := range js {
		parts = append(parts, s.muted.Render(names[i]+" ")+verdictText(m, j))
	}
	if len(parts) == 0 {
		return s.muted.Render("no grades yet")
	}
	out := strings.Join(parts, s.muted.Render(" · "))
	if abbrev != "" {
		out += s.muted.Render("  (" + abbrev + ")")
	}
	return out
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
