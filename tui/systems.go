package tui

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/benchmark/evalruns"
	"github.com/qrelbench/qrelbench/benchmark/syseval"
	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// systemsState is the Systems screen: the imported search systems scored
// under one labeler's grades (A) and, side by side, another's (B), with
// rank changes and significant differences marked. enter opens a system's
// queries (worst first), enter on a query its ranked list with every
// document's grades, where a digit grades the selected document. Scores are
// computed in a tea.Cmd, again whenever grades arrive.
type systemsState struct {
	any       bool // the workspace has systems: the tab shows
	probing   bool
	level     int // 0 systems, 1 a system's queries, 2 a query's ranked list
	a, b      string
	measure   int // index into the report's measures
	res       *systemsResult
	computing bool
	again     bool // grades arrived while computing
	stale     bool // grades arrived while another screen showed
	err       error

	sys, query, doc int // cursors of the three levels
	offset          int
	list            *rankedList
}

// systemsResult is one computation: the candidates for A and B and the two
// reports. runs are kept to score the same systems again as grades arrive
// (re-read only when the systems change).
type systemsResult struct {
	labelers []string // labelers with grades
	systems  []store.System
	runs     []syseval.Run
	a, b     *evalruns.Report
	sigA     map[string]bool // system significantly above the next one under A
	sigB     map[string]bool
	rankB    map[string]int // 1-based rank under B
	valB     map[string]syseval.SystemResult
}

// systemsProbeMsg says whether the workspace has systems.
type systemsProbeMsg struct{ any bool }

// probeCmd looks whether the workspace has systems (the tab shows only
// then); it runs at start and with the live refresh's ticks.
func (s *systemsState) probeCmd(m *Model) tea.Cmd {
	if s.probing {
		return nil
	}
	s.probing = true
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		n, err := st.CountSystems(ctx)
		return systemsProbeMsg{any: err == nil && n > 0}
	}
}

type systemsMsg struct {
	res *systemsResult
	err error
}

// rankedList is one system's ranking of one query, in the metrics' order.
type rankedList struct {
	system    store.System
	queryID   int64
	queryExt  string
	queryText string
	labelers  []string // the columns: A, B, me
	docs      []store.RankedDoc
}

type rankedListMsg struct {
	list *rankedList
	err  error
}

// pairMadeMsg: a document graded from a ranked list had no pair; it has now.
type pairMadeMsg struct {
	pairID int64
	grade  int
	err    error
}

// systemsKeys are the Systems screen's own keys (keys.go shows them).
type systemsKeys struct {
	labA, labB, measure, down, up, open, back, recompute key.Binding
}

// sysKeys are constant bindings, shared by every session.
var sysKeys = newSystemsKeys()

func newSystemsKeys() systemsKeys {
	return systemsKeys{
		labA:      bind("←/→", "labeler A: whose grades rank the systems", "left", "right", "h", "l"),
		labB:      bind("[ / ]", "labeler B: the grades compared beside A's", "[", "]"),
		measure:   bind("m", "next measure", "m"),
		down:      bind("j/↓", "down", "j", "down"),
		up:        bind("k/↑", "up", "k", "up"),
		open:      bind("enter", "open: a system's queries (worst first), a query's ranked list, a document's pair", "enter"),
		back:      bind("backspace", "back up a level", "backspace"),
		recompute: bind("r", "recompute now", "r"),
	}
}

// dirty notes that grades changed: recompute when showing, else later.
func (s *systemsState) dirty(m *Model) tea.Cmd {
	if m.screen != scrSystems {
		s.stale = true
		return nil
	}
	return tea.Batch(s.recompute(m), s.reloadList(m))
}

// onShow recomputes what changed while another screen showed.
func (s *systemsState) onShow(m *Model) tea.Cmd {
	if s.res == nil || s.stale {
		s.stale = false
		return tea.Batch(s.recompute(m), s.reloadList(m))
	}
	return nil
}

func (s *systemsState) recompute(m *Model) tea.Cmd {
	if s.computing {
		s.again = true
		return nil
	}
	s.computing = true
	st, ctx, a, b := m.st, m.ctx, s.a, s.b
	var prev *systemsResult
	if s.res != nil {
		prev = s.res
	}
	return func() tea.Msg {
		res, err := computeSystems(ctx, st, prev, a, b)
		return systemsMsg{res: res, err: err}
	}
}

// tuiPairOptions keep the paired tests quick enough to run on every grade.
const (
	tuiPermutations = 2000
	tuiBootstrap    = 1000
)

func computeSystems(ctx context.Context, st *store.Store, prev *systemsResult, a, b string) (*systemsResult, error) {
	res := &systemsResult{}
	systems, err := st.Systems(ctx)
	if err != nil || len(systems) == 0 {
		return res, err
	}
	res.systems = systems
	if prev != nil && sameSystems(prev.systems, systems) {
		res.runs = prev.runs
	} else if res.runs, err = evalruns.Runs(ctx, st, nil); err != nil {
		return nil, err
	}
	stats, err := st.Stats(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range stats.Labelers {
		if n := sumGrades(l.ByGrade); n > 0 {
			res.labelers = append(res.labelers, l.Labeler)
		}
	}
	if len(res.labelers) == 0 {
		return res, nil
	}
	a, b = defaultPair(res.labelers, stats.Labelers, a, b, prev == nil)
	opt := evalruns.Options{Pairs: evalruns.PairsAdjacent, Permutations: tuiPermutations, Bootstrap: tuiBootstrap, Seed: 1}
	opt.Qrels = a
	ra, err := evalruns.EvaluateRuns(ctx, st, res.runs, opt)
	if err != nil {
		return nil, err
	}
	res.a, res.sigA = &ra, significantAbove(ra)
	if b != "" && b != a {
		opt.Qrels = b
		rb, err := evalruns.EvaluateRuns(ctx, st, res.runs, opt)
		if err == nil {
			res.b, res.sigB = &rb, significantAbove(rb)
			res.rankB, res.valB = map[string]int{}, map[string]syseval.SystemResult{}
			for i, s := range rb.Systems {
				res.rankB[s.System], res.valB[s.System] = i+1, s.SystemResult
			}
		}
	}
	return res, nil
}

func sumGrades(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sameSystems(x, y []store.System) bool {
	return slices.EqualFunc(x, y, func(a, b store.System) bool {
		return a.ID == b.ID && a.ContentSHA256 == b.ContentSHA256
	})
}

// defaultPair keeps the chosen labelers when they still have grades, else
// proposes a human's grades for A and another labeler's for B (on the
// first computation, or when B's labeler is gone; "" is B chosen as none).
func defaultPair(cands []string, ls []store.LabelerStats, a, b string, first bool) (string, string) {
	if !slices.Contains(cands, a) {
		a = cands[0]
		for _, l := range ls {
			if l.Kind == store.KindHuman && slices.Contains(cands, l.Labeler) {
				a = l.Labeler
				break
			}
		}
	}
	if first && b == "" || b != "" && !slices.Contains(cands, b) || b == a {
		b = ""
		for _, c := range cands {
			if c != a {
				b = c
				break
			}
		}
	}
	return a, b
}

// significantAbove marks the systems significantly better than the next
// one in the report's ranking (both tests p < 0.05).
func significantAbove(r evalruns.Report) map[string]bool {
	out := map[string]bool{}
	for _, p := range r.Pairs {
		if p.Valid && p.MeanDiff > 0 && p.TTestP < 0.05 && p.RandP < 0.05 {
			out[p.A] = true
		}
	}
	return out
}

func (s *systemsState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case systemsProbeMsg:
		s.probing = false
		if msg.any && !s.any {
			s.stale = true // new systems: score them on the next visit
		}
		s.any = msg.any
		return nil, true
	case systemsMsg:
		s.computing = false
		s.err = msg.err
		if msg.err == nil {
			s.res = msg.res
			if r := s.res; r.a != nil {
				s.a = r.a.Qrels
				s.b = ""
				if r.b != nil {
					s.b = r.b.Qrels
				}
				s.measure = min(s.measure, len(r.a.Measures)-1)
				s.sys = min(s.sys, max(len(r.a.Systems)-1, 0))
			}
		}
		if s.again {
			s.again = false
			return s.recompute(m), true
		}
		return nil, true
	case rankedListMsg:
		if msg.err != nil {
			m.setFlash("ranked list: "+msg.err.Error(), true)
			return nil, true
		}
		s.list = msg.list
		s.doc = min(s.doc, max(len(s.list.docs)-1, 0))
		return nil, true
	case pairMadeMsg:
		if msg.err != nil {
			m.setFlash("could not make a pair to grade: "+msg.err.Error(), true)
			return nil, true
		}
		return tea.Batch(m.systemsGrade(msg.pairID, msg.grade), s.reloadList(m)), true
	}
	return nil, false
}

// measureName is the measure shown and ranked by.
func (s *systemsState) measureName() string {
	if s.res == nil || s.res.a == nil || len(s.res.a.Measures) == 0 {
		return syseval.NDCGCutName(syseval.DefaultNDCGCut)
	}
	return s.res.a.Measures[s.measure]
}

// rows are the systems of level 0, ranked by the chosen measure under A.
func (s *systemsState) rows() []evalruns.System {
	if s.res == nil || s.res.a == nil {
		return nil
	}
	rows := slices.Clone(s.res.a.Systems)
	mn := s.measureName()
	slices.SortStableFunc(rows, func(x, y evalruns.System) int {
		switch a, b := x.Mean[mn], y.Mean[mn]; {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return strings.Compare(x.System, y.System)
	})
	return rows
}

func (s *systemsState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	sk := &sysKeys
	rows := s.rows()
	switch {
	case key.Matches(k, sk.recompute):
		return tea.Batch(s.recompute(m), s.reloadList(m)), true
	case key.Matches(k, sk.back), key.Matches(k, m.keys.back) && s.level > 0:
		if s.level > 0 {
			s.level--
			s.offset = 0
		}
		return nil, true
	case key.Matches(k, sk.down):
		s.move(m, 1)
		return nil, true
	case key.Matches(k, sk.up):
		s.move(m, -1)
		return nil, true
	}
	if s.level == 2 {
		if g, ok := m.digit(k); ok {
			return s.gradeSelected(m, g), true
		}
		if key.Matches(k, sk.open) && s.list != nil && s.doc < len(s.list.docs) {
			d := s.list.docs[s.doc]
			if d.PairID != 0 {
				return m.openPair(d.PairID), true
			}
			m.setFlash("not a pair yet: grade it here with a digit, and it becomes one", false)
			return nil, true
		}
	}
	if s.level > 0 {
		if key.Matches(k, sk.open) && s.level == 1 {
			qs := s.queries(rows)
			if s.query < len(qs) {
				s.level, s.doc, s.offset = 2, 0, 0
				s.list = nil
				return s.loadList(m, rows[s.sys].System, qs[s.query]), true
			}
		}
		return nil, key.Matches(k, sk.open)
	}
	labs := []string{}
	if s.res != nil {
		labs = s.res.labelers
	}
	switch {
	case key.Matches(k, sk.labA) && len(labs) > 0:
		d := 1
		if k.String() == "left" || k.String() == "h" {
			d = -1
		}
		s.a = cycle(labs, s.a, d)
		return s.recompute(m), true
	case key.Matches(k, sk.labB) && len(labs) > 1:
		d := 1
		if k.String() == "[" {
			d = -1
		}
		next := cycle(append([]string{""}, labs...), s.b, d)
		if next == s.a {
			next = cycle(append([]string{""}, labs...), next, d)
		}
		s.b = next
		return s.recompute(m), true
	case key.Matches(k, sk.measure) && s.res != nil && s.res.a != nil:
		s.measure = (s.measure + 1) % len(s.res.a.Measures)
		return nil, true
	case key.Matches(k, sk.open) && s.sys < len(rows):
		s.level, s.query, s.offset = 1, 0, 0
		return nil, true
	}
	return nil, false
}

// cycle is the name d steps from cur in names (the first when cur is not
// there).
func cycle(names []string, cur string, d int) string {
	i := slices.Index(names, cur)
	if i < 0 {
		return names[0]
	}
	return names[(i+d+len(names))%len(names)]
}

func (s *systemsState) move(m *Model, d int) {
	n := 0
	switch rows := s.rows(); s.level {
	case 0:
		n = len(rows)
		s.sys = clampIndex(s.sys+d, n)
	case 1:
		if s.sys < len(rows) {
			n = len(s.queries(rows))
		}
		s.query = clampIndex(s.query+d, n)
	case 2:
		if s.list != nil {
			n = len(s.list.docs)
		}
		s.doc = clampIndex(s.doc+d, n)
	}
}

func clampIndex(i, n int) int { return max(min(i, n-1), 0) }

// queries are the selected system's queries, worst first under A.
func (s *systemsState) queries(rows []evalruns.System) []string {
	if s.sys >= len(rows) {
		return nil
	}
	return evalruns.WorstFirst(rows[s.sys], s.measureName())
}

// loadList reads a system's ranked list for a query with the grades of A,
// B and the annotator.
func (s *systemsState) loadList(m *Model, system, queryExt string) tea.Cmd {
	st, ctx := m.st, m.ctx
	labs := []string{s.a}
	if s.b != "" {
		labs = append(labs, s.b)
	}
	if me := m.LabelerName(); !slices.Contains(labs, me) {
		labs = append(labs, me)
	}
	return func() tea.Msg {
		l, err := readRankedList(ctx, st, system, queryExt, labs)
		return rankedListMsg{list: l, err: err}
	}
}

// reloadList reads the open ranked list again (grades arrived).
func (s *systemsState) reloadList(m *Model) tea.Cmd {
	if s.level != 2 || s.list == nil {
		return nil
	}
	return s.loadList(m, s.list.system.Name, s.list.queryExt)
}

func readRankedList(ctx context.Context, st *store.Store, system, queryExt string, labelers []string) (*rankedList, error) {
	sys, err := st.System(ctx, system)
	if err != nil {
		return nil, err
	}
	q, err := st.QueryByExtID(ctx, queryExt)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var names []string
	for _, n := range labelers {
		l, err := st.Labeler(ctx, n)
		if err != nil {
			continue // the annotator has not graded anything yet
		}
		ids, names = append(ids, l.ID), append(names, n)
	}
	docs, err := st.RankedList(ctx, sys.ID, q.ID, ids)
	if err != nil {
		return nil, err
	}
	// The metrics' order: syseval.TopK over the whole list.
	scored := make([]syseval.Scored, len(docs))
	byExt := make(map[string]store.RankedDoc, len(docs))
	for i, d := range docs {
		scored[i] = syseval.Scored{Doc: d.ExtID, Score: d.Score}
		byExt[d.ExtID] = d
	}
	ordered := syseval.TopK(scored, len(scored))
	out := &rankedList{system: sys, queryID: q.ID, queryExt: q.ExtID, queryText: q.Text, labelers: names, docs: make([]store.RankedDoc, len(ordered))}
	for i, sc := range ordered {
		out.docs[i] = byExt[sc.Doc]
	}
	return out, nil
}

// gradeSelected grades the selected document of the ranked list as the
// annotator, making it a pair first when it is not one.
func (s *systemsState) gradeSelected(m *Model, g int) tea.Cmd {
	if s.list == nil || s.doc >= len(s.list.docs) || m.me.ID == 0 {
		return nil
	}
	d := &s.list.docs[s.doc]
	if d.PairID != 0 {
		s.showMine(m, d, g)
		return m.systemsGrade(d.PairID, g)
	}
	st, ctx, qid, did := m.st, m.ctx, s.list.queryID, d.DocID
	s.showMine(m, d, g)
	return func() tea.Msg {
		p := store.Pair{QueryID: qid, DocID: did, Source: store.SourcePool}
		_, err := st.PutPair(ctx, &p)
		return pairMadeMsg{pairID: p.ID, grade: g, err: err}
	}
}

// showMine shows the grade at once in the annotator's column and moves on.
func (s *systemsState) showMine(m *Model, d *store.RankedDoc, g int) {
	if i := slices.Index(s.list.labelers, m.LabelerName()); i >= 0 {
		d.Codes[i] = g
	}
	s.doc = clampIndex(s.doc+1, len(s.list.docs))
}

// systemsGrade records the annotator's grade on a pair from the Systems
// screen (undo with u, as on the other screens).
func (m *Model) systemsGrade(pairID int64, g int) tea.Cmd {
	j := store.Judgment{PairID: pairID, LabelerID: m.me.ID, Grade: g, Status: store.StatusOK}
	m.grade.recent[pairID] = true
	m.browse.applyMine(m, j)
	return m.enqueue(writeOp{kind: writePut, j: j})
}

// ---- view ---------------------------------------------------------------

func fmtScore(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.4f", v)
}

func (s *systemsState) view(m *Model, w, h int) []string {
	sty := m.sty
	switch {
	case s.err != nil:
		return []string{"", sty.bad.Render(" systems: " + s.err.Error())}
	case s.res == nil:
		return []string{"", sty.muted.Render(" scoring the systems…")}
	case len(s.res.systems) == 0:
		return []string{"", sty.text.Render(" No search systems yet."), "",
			sty.muted.Render(" Import their ranked lists (TREC run format) with `qrelbench import run FILE`,"),
			sty.muted.Render(" then pool their top documents for grading (Runs → pooling, or `qrelbench pool --depth 20`).")}
	case s.res.a == nil:
		return []string{"", sty.text.Render(fmt.Sprintf(" %s, and nobody has graded anything yet: grade the pool first.", words.Count(len(s.res.systems), "system")))}
	}
	switch s.level {
	case 1:
		return s.queriesView(m, w, h)
	case 2:
		return s.listView(m, w, h)
	}
	return s.systemsView(m, w, h)
}

func (s *systemsState) head(m *Model) []string {
	sty, r := m.sty, s.res
	line := fmt.Sprintf(" A %s (%s) ", r.a.Qrels, words.Count(r.a.QrelsQueries, "query"))
	if r.b != nil {
		line += fmt.Sprintf("· B %s (%s) ", r.b.Qrels, words.Count(r.b.QrelsQueries, "query"))
	} else {
		line += "· B none "
	}
	line += "· " + s.measureName()
	if s.computing {
		line += " · recomputing…"
	}
	out := []string{sty.header.Render(line)}
	if evalruns.Unreliable(r.a.QrelsQueries) || r.b != nil && evalruns.Unreliable(r.b.QrelsQueries) {
		out = append(out, sty.warn.Render(fmt.Sprintf(" fewer than %d graded queries: the order and the significance marks are unreliable", evalruns.FewQueries)))
	}
	return out
}

func (s *systemsState) systemsView(m *Model, w, h int) []string {
	sty, r := m.sty, s.res
	mn := s.measureName()
	lines := s.head(m)
	rows := s.rows()
	nameW := 8
	for _, x := range rows {
		nameW = max(nameW, min(len([]rune(x.System)), 24))
	}
	hdr := fmt.Sprintf(" %3s %-*s %7s %10s %1s", "#A", nameW, "system", "queries", "A", "")
	if r.b != nil {
		hdr += fmt.Sprintf("  %3s %10s %1s %6s", "#B", "B", "", "rank")
	}
	hdr += fmt.Sprintf("  %9s", "unjudged")
	lines = append(lines, "", sty.header.Render(hdr))
	top := len(lines)
	room := max(h-top-3, 1)
	s.offset = scrollTo(s.offset, s.sys, room)
	for i := s.offset; i < len(rows) && i < s.offset+room; i++ {
		x := rows[i]
		sig := " "
		if r.sigA[x.System] {
			sig = "*"
		}
		ln := fmt.Sprintf(" %3d %-*s %7d %10s %1s", i+1, nameW, clip(x.System, nameW), x.Queries, fmtScore(x.Mean[mn]), sig)
		if r.b != nil {
			if rb, ok := r.rankB[x.System]; ok {
				sigB := " "
				if r.sigB[x.System] {
					sigB = "*"
				}
				ln += fmt.Sprintf("  %3d %10s %1s %6s", rb, fmtScore(r.valB[x.System].Mean[mn]), sigB, rankChange(i+1, rb))
			} else {
				ln += fmt.Sprintf("  %3s %10s %1s %6s", "—", "—", " ", "")
			}
		}
		ln += fmt.Sprintf("  %8.0f%%", 100*x.Mean[syseval.MeasureUnjudged10])
		if i == s.sys {
			ln = sty.sel.Render(pad(ln, w))
		} else if r.b != nil && r.rankB[x.System] != 0 && r.rankB[x.System] != i+1 {
			ln = sty.warn.Render(ln)
		}
		lines = append(lines, ln)
	}
	lines = append(lines, "",
		sty.muted.Render(" * significantly better than the next system (paired t-test and randomisation test, p < 0.05)"),
		sty.muted.Render(" rank: the system's place under B against A (↑ higher under B); unjudged: share of its top 10 nobody in A graded"))
	for _, n := range r.a.Notes {
		lines = append(lines, sty.muted.Render(" "+n))
	}
	return lines
}

// rankChange marks how a system moves from its rank under A to under B.
func rankChange(a, b int) string {
	switch {
	case b < a:
		return fmt.Sprintf("↑%d", a-b)
	case b > a:
		return fmt.Sprintf("↓%d", b-a)
	}
	return "="
}

// scrollTo keeps the cursor within a window of room rows.
func scrollTo(offset, cursor, room int) int {
	if cursor < offset {
		return cursor
	}
	if cursor >= offset+room {
		return cursor - room + 1
	}
	return offset
}

func (s *systemsState) queriesView(m *Model, w, h int) []string {
	sty, r := m.sty, s.res
	rows := s.rows()
	if s.sys >= len(rows) {
		s.level = 0
		return s.systemsView(m, w, h)
	}
	x := rows[s.sys]
	mn := s.measureName()
	lines := s.head(m)
	lines = append(lines, sty.text.Render(fmt.Sprintf(" %s: %s per query, worst first (enter: its ranked list · backspace: systems)", x.System, mn)), "")
	hdr := fmt.Sprintf(" %-12s %10s", "query", "A")
	if r.b != nil {
		hdr += fmt.Sprintf(" %10s", "B")
	}
	hdr += fmt.Sprintf(" %9s", "unjudged")
	lines = append(lines, sty.header.Render(hdr))
	qs := s.queries(rows)
	room := max(h-len(lines)-1, 1)
	s.offset = scrollTo(s.offset, s.query, room)
	for i := s.offset; i < len(qs) && i < s.offset+room; i++ {
		q := qs[i]
		ln := fmt.Sprintf(" %-12s %10s", clip(q, 12), fmtScore(x.PerQuery[q][mn]))
		if r.b != nil {
			v := math.NaN()
			if pq, ok := r.valB[x.System].PerQuery[q]; ok {
				v = pq[mn]
			}
			ln += fmt.Sprintf(" %10s", fmtScore(v))
		}
		ln += fmt.Sprintf(" %8.0f%%", 100*x.PerQuery[q][syseval.MeasureUnjudged10])
		if i == s.query {
			ln = sty.sel.Render(pad(ln, w))
		}
		lines = append(lines, ln)
	}
	return lines
}

func (s *systemsState) listView(m *Model, w, h int) []string {
	sty := m.sty
	l := s.list
	if l == nil {
		return []string{"", sty.muted.Render(" reading the ranked list…")}
	}
	lines := []string{
		sty.header.Render(fmt.Sprintf(" %s · query %s: %s", l.system.Name, l.queryExt, clip(l.queryText, max(w-30, 10)))),
		sty.muted.Render(" in the metrics' order (score, then document id); digit: grade the selected document as you · enter: its pair · backspace: queries"),
		"",
	}
	hdr := fmt.Sprintf(" %4s %-14s %10s %5s", "pos", "document", "score", "rank")
	for _, n := range l.labelers {
		hdr += " " + padLeft(clip(n, 10), 10)
	}
	hdr += "  title"
	lines = append(lines, sty.header.Render(hdr))
	room := max(h-len(lines)-1, 1)
	s.offset = scrollTo(s.offset, s.doc, room)
	me := m.LabelerName()
	for i := s.offset; i < len(l.docs) && i < s.offset+room; i++ {
		d := l.docs[i]
		ln := fmt.Sprintf(" %4d %-14s %10.4g %5d", i+1, clip(d.ExtID, 14), d.Score, d.Rank)
		for k, c := range d.Codes {
			cell := codeText(c)
			if k == 0 && c == store.CodeNone {
				cell = "unjudged"
			}
			if l.labelers[k] == me && c == store.CodeNone {
				cell = "·"
			}
			ln += " " + padLeft(cell, 10)
		}
		ln += "  " + d.Title
		switch {
		case i == s.doc:
			ln = sty.sel.Render(pad(ln, w))
		case len(d.Codes) > 0 && d.Codes[0] == store.CodeNone:
			ln = sty.warn.Render(ln)
		}
		lines = append(lines, ln)
	}
	return lines
}

func codeText(c int) string {
	switch c {
	case store.CodeNone:
		return "—"
	case store.CodeUnsure:
		return "unsure"
	case store.CodeFailed:
		return "failed"
	}
	return fmt.Sprint(c)
}

// gradesChanged tells the screens that follow grades that some arrived.
func (m *Model) gradesChanged() tea.Cmd {
	return tea.Batch(m.stats.dirty(m), m.systems.dirty(m))
}

// neighbour is the pair d places from id among the open ranked list's
// documents that are pairs (the Pair screen's j/k).
func (s *systemsState) neighbour(id int64, d int) (int64, bool) {
	if s.list == nil {
		return 0, false
	}
	var ids []int64
	for _, doc := range s.list.docs {
		if doc.PairID != 0 {
			ids = append(ids, doc.PairID)
		}
	}
	i := slices.Index(ids, id)
	if i < 0 || i+d < 0 || i+d >= len(ids) {
		return 0, false
	}
	return ids[i+d], true
}

// help is the Help screen's Systems section (d: the scale's digits).
func (k systemsKeys) help(d string) []key.Binding {
	grade := bind(d, "on a ranked list: grade the selected document as you (an unjudged one becomes a pair)")
	return []key.Binding{k.labA, k.labB, k.measure, combine("j/k ↑/↓", "move", k.down, k.up), k.open, grade, k.back, k.recompute}
}

// short is the Systems screen's footer.
func (k systemsKeys) short() []key.Binding {
	return []key.Binding{short(k.labA, "←/→", "labeler A"), short(k.labB, "[/]", "B"), short(k.measure, "", "measure"),
		short(k.open, "", "open"), short(k.back, "⌫", "back"), short(k.recompute, "", "recompute")}
}
