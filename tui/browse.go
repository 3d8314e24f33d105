package tui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

// Cell values of the browse index besides grades.
const (
	cNone    int8 = -1 // no judgment
	cUnsure  int8 = -2 // judge later
	cFailed  int8 = -3 // error, unparseable, refused
	noSpread      = math.MaxUint8
)

// index is the Browse table's data for every pair, in compact arrays (a
// million pairs take a few tens of megabytes): the pair's ids and, per
// labeler column, its current grade. Only the visible rows' texts are ever
// fetched. ids, qix and dids never change after load; cols and spread are
// updated in place by Update as grades arrive.
type index struct {
	ids   []int64
	qix   []int32 // dense query index into qtext / qrank
	dids  []int64
	minID int64
	pos   []int32 // pair id - minID -> row (-1: none)

	qtext []string // query text by dense index
	qlow  []string // lowercased, for search
	qrank []int32  // rank of the query text among all queries

	labs  []store.Labeler // columns, display order
	colOf map[int64]int
	cols  [][]int8

	student, teacher int     // column of the student / teacher (-1: none)
	spread           []uint8 // student's grade spread ×100 (noSpread: none)

	titleKey  []int32 // rank of the document title per row (nil until asked; rows added since: none)
	titleKeys int32   // bound of titleKey's values: documents ranked + 1

	// Where the index stands in the workspace (see store.Changes): the
	// judgment history it reflects, the last pair and query it holds, and
	// the corpus counter it was built at (edits and removals: rebuild).
	head     int64
	maxPair  int64
	maxQuery int64
	corpus   int64
	qdense   map[int64]int32 // query id -> dense index
}

func (x *index) row(pairID int64) int {
	i := pairID - x.minID
	if i < 0 || i >= int64(len(x.pos)) {
		return -1
	}
	return int(x.pos[i])
}

func cellOf(c store.Cell) int8 {
	switch c.Status {
	case store.StatusOK:
		return int8(c.Grade)
	case store.StatusUnsure:
		return cUnsure
	case "":
		return cNone
	default:
		return cFailed
	}
}

// probSpread is the standard deviation of the grade under the labeler's
// grade probabilities (a JSON array), ×100; noSpread when there are none.
func probSpread(probs string, minGrade int) uint8 {
	if len(probs) < 2 || probs[0] != '[' {
		return noSpread
	}
	var sum, sum2, tot float64
	g := float64(minGrade)
	for _, f := range strings.Split(probs[1:len(probs)-1], ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return noSpread
		}
		sum += p * g
		sum2 += p * g * g
		tot += p
		g++
	}
	if tot <= 0 {
		return noSpread
	}
	mean := sum / tot
	v := sum2/tot - mean*mean
	return uint8(min(math.Sqrt(max(v, 0))*100, 254))
}

// orderLabelers sorts labelers for display: teacher, student, other models,
// built-ins, imported, humans.
func orderLabelers(ls []store.Labeler) []store.Labeler {
	rank := func(l store.Labeler) int {
		switch {
		case l.Role == "teacher":
			return 0
		case l.Role == "student":
			return 1
		case l.Kind == store.KindStudent:
			return 2
		case l.Kind == store.KindLLM:
			return 3
		case l.Kind == store.KindBuiltin:
			return 4
		case l.Kind == store.KindImported:
			return 5
		}
		return 6
	}
	out := slices.Clone(ls)
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func isModel(l store.Labeler) bool { return l.Kind != store.KindHuman && l.Kind != store.KindImported }

func isHumanish(l store.Labeler) bool {
	return l.Kind == store.KindHuman || l.Kind == store.KindImported
}

// buildIndex reads every pair and every current judgment: two sequential
// scans, run in the background.
func buildIndex(ctx context.Context, st *store.Store, me int64) (*index, error) {
	x := &index{student: -1, teacher: -1, qdense: map[int64]int32{}}
	ch, err := st.Changes(ctx)
	if err != nil {
		return nil, err
	}
	x.head, x.corpus = ch.History, ch.Corpus
	labs, err := st.Labelers(ctx)
	if err != nil {
		return nil, err
	}
	// Pairs before query texts: every query a pair names is then read.
	var qids []int64
	err = st.ScanPairIDs(ctx, 0, func(id, q, d int64) {
		x.ids = append(x.ids, id)
		qids = append(qids, q)
		x.dids = append(x.dids, d)
	})
	if err != nil {
		return nil, err
	}
	texts, err := st.QueryTexts(ctx, 0)
	if err != nil {
		return nil, err
	}
	x.addQueries(texts)
	x.qrank = rankTexts(x.qlow)
	x.qix = make([]int32, len(qids))
	for r, q := range qids {
		x.qix[r] = x.qdense[q]
	}
	if len(x.ids) > 0 {
		x.minID = x.ids[0]
		x.maxPair = x.ids[len(x.ids)-1]
		x.pos = make([]int32, x.maxPair-x.minID+1)
		for i := range x.pos {
			x.pos[i] = -1
		}
		for r, id := range x.ids {
			x.pos[id-x.minID] = int32(r)
		}
	}
	// Columns: every labeler, empty ones dropped after the scan (except me).
	labs = orderLabelers(labs)
	all := make([][]int8, len(labs))
	colOf := map[int64]int{}
	studentCol := -1
	for i, l := range labs {
		colOf[l.ID] = i
		c := make([]int8, len(x.ids))
		for r := range c {
			c[r] = cNone
		}
		all[i] = c
		if studentCol < 0 && (l.Role == "student" || l.Kind == store.KindStudent) {
			studentCol = i
		}
	}
	var spread []uint8
	if studentCol >= 0 {
		spread = make([]uint8, len(x.ids))
		for r := range spread {
			spread[r] = noSpread
		}
	}
	counts := make([]int, len(labs))
	minGrade := st.Scale().Min()
	// One scan per labeler, in parallel: each fills its own column.
	errs := make([]error, len(labs))
	var wg sync.WaitGroup
	for i, l := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			col := all[i]
			errs[i] = st.ScanLabelerCells(ctx, l.ID, i == studentCol, func(pairID int64, code int, probs string) {
				r := x.row(pairID)
				if r < 0 {
					return
				}
				col[r] = int8(code)
				counts[i]++
				if i == studentCol {
					spread[r] = probSpread(probs, minGrade)
				}
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	x.colOf = map[int64]int{}
	for i, l := range labs {
		if counts[i] == 0 && l.ID != me {
			continue
		}
		if i == studentCol {
			x.student = len(x.cols)
			x.spread = spread
		}
		if x.teacher < 0 && l.Role == "teacher" {
			x.teacher = len(x.cols)
		}
		x.colOf[l.ID] = len(x.cols)
		x.labs = append(x.labs, l)
		x.cols = append(x.cols, all[i])
	}
	return x, nil
}

// addQueries gives new queries (ids above maxQuery) their dense indexes,
// in id order.
func (x *index) addQueries(texts map[int64]string) {
	ids := make([]int64, 0, len(texts))
	for id := range texts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		x.qdense[id] = int32(len(x.qtext))
		x.qtext = append(x.qtext, texts[id])
		x.qlow = append(x.qlow, strings.ToLower(texts[id]))
		x.maxQuery = max(x.maxQuery, id)
	}
}

// rankTexts is the rank of each text in sorted order (the query column's
// sort key).
func rankTexts(low []string) []int32 {
	order := make([]int32, len(low))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return low[order[a]] < low[order[b]] })
	rank := make([]int32, len(order))
	for r, i := range order {
		rank[i] = int32(r)
	}
	return rank
}

// growth is what was added to the workspace since the index last looked:
// pairs with higher ids and the queries they name. Read in the background;
// applied by grow in Update.
type growth struct {
	ids, qids, dids []int64
	queries         map[int64]string // texts of queries above maxQuery
	qrank           []int32          // the query sort key with the new queries (nil: none)
}

// readGrowth reads the pairs and queries added after the index's last
// ones. qlow is the index's lowercased query texts (its elements never
// change), to rank the new queries among them.
func readGrowth(ctx context.Context, st *store.Store, maxPair, maxQuery int64, qlow []string) (*growth, error) {
	g := &growth{}
	err := st.ScanPairIDs(ctx, maxPair, func(id, q, d int64) {
		g.ids = append(g.ids, id)
		g.qids = append(g.qids, q)
		g.dids = append(g.dids, d)
	})
	if err != nil || len(g.ids) == 0 {
		return nil, err
	}
	if g.queries, err = st.QueryTexts(ctx, maxQuery); err != nil {
		return nil, err
	}
	if len(g.queries) > 0 {
		ids := make([]int64, 0, len(g.queries))
		for id := range g.queries {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		low := slices.Clip(qlow)
		for _, id := range ids {
			low = append(low, strings.ToLower(g.queries[id]))
		}
		g.qrank = rankTexts(low)
	}
	return g, nil
}

// grow appends new pairs (no grades yet: those come with the history).
func (x *index) grow(g *growth) {
	x.addQueries(g.queries)
	if g.qrank != nil {
		x.qrank = g.qrank
	}
	n := len(g.ids)
	if len(x.ids) == 0 {
		x.minID = g.ids[0]
	}
	start := len(x.ids)
	x.ids = append(x.ids, g.ids...)
	x.dids = append(x.dids, g.dids...)
	for _, q := range g.qids {
		x.qix = append(x.qix, x.qdense[q])
	}
	x.maxPair = g.ids[n-1]
	if need := int(x.maxPair - x.minID + 1); need > len(x.pos) {
		old := len(x.pos)
		x.pos = slices.Grow(x.pos, need-old)[:need]
		for i := old; i < need; i++ {
			x.pos[i] = -1
		}
	}
	for i, id := range g.ids {
		x.pos[id-x.minID] = int32(start + i)
	}
	for c := range x.cols {
		x.cols[c] = slices.Grow(x.cols[c], n)
		for range n {
			x.cols[c] = append(x.cols[c], cNone)
		}
	}
	if x.spread != nil {
		x.spread = slices.Grow(x.spread, n)
		for range n {
			x.spread = append(x.spread, noSpread)
		}
	}
}

// apply sets one cell from a change; false when the labeler has no column.
func (x *index) apply(c store.Cell, minGrade int) bool {
	ci, ok := x.colOf[c.LabelerID]
	if !ok {
		return false
	}
	r := x.row(c.PairID)
	if r < 0 {
		return false
	}
	x.cols[ci][r] = cellOf(c)
	if ci == x.student && x.spread != nil {
		x.spread[r] = probSpread(c.Probs, minGrade)
	}
	return true
}

// disagreement is the largest difference between any two grades of a row.
func (x *index) disagreement(r int) int {
	lo, hi := int8(math.MaxInt8), int8(-1)
	for _, c := range x.cols {
		if v := c[r]; v >= 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi < 0 {
		return -1
	}
	return int(hi - lo)
}

// ---- state --------------------------------------------------------------

// Preset filters, cycled with f.
const (
	fAll = iota
	fNotMine
	fTeacherStudent
	fModelHuman
	fDisagree2
	fUncertain
	numFilters
)

var filterNames = [...]string{"all pairs", "not graded by me", "teacher ≠ student", "any model ≠ human", "|difference| ≥ 2", "student uncertain"}

// uncertainSpread: the student is uncertain when its grade distribution has
// a standard deviation of at least half a grade.
const uncertainSpread = 50

type browseState struct {
	idx     *index
	loading bool
	loadErr error

	rows    []int32 // rows shown, in order (of prevIdx)
	prevIdx *index  // the index rows were computed from
	cursor  int
	offset  int

	filter   int
	search   string
	col      int // selected column: 0 query, 1 title, 2.. labelers, last Δ
	sortCol  int // -1: pair order
	sortDesc bool
	gradeCol int // labeler column filter (-1: none)
	gradeVal int
	awaitEq  bool // "=" pressed: the next digit sets gradeVal

	titles        map[int64]string
	titleInflight bool
	refreshing    bool
	news          int // pairs added by the last refreshes (shown until a key)
	wantTitleSort bool
}

func (b *browseState) init() {
	b.sortCol, b.gradeCol = -1, -1
	b.titles = map[int64]string{}
}

type indexMsg struct {
	idx *index
	err error
}

type titlesMsg struct {
	titles map[int64]string
	err    error
}

// changesMsg is what a refresh read: judgment changes and new pairs, for
// the index it was read for.
type changesMsg struct {
	idx   *index
	cells []store.Cell
	head  int64
	more  bool
	grow  *growth // nil: no new pairs
	err   error
}

type titleKeyMsg struct {
	key  []int32
	docs int32 // documents ranked: keys are below
	err  error
}

func (b *browseState) loadCmd(m *Model) tea.Cmd {
	if b.loading {
		return nil
	}
	b.loading = true
	st, ctx, me := m.st, m.ctx, m.me.ID
	return func() tea.Msg {
		x, err := buildIndex(ctx, st, me)
		return indexMsg{idx: x, err: err}
	}
}

// refreshCmd reads what changed since the index last looked: judgments,
// then pairs added (after the judgments, so that every judgment read is on
// a pair this read knows).
func (b *browseState) refreshCmd(m *Model) tea.Cmd {
	if b.idx == nil || b.refreshing {
		return nil
	}
	b.refreshing = true
	x := b.idx
	st, ctx, head, maxPair, maxQuery, qlow := m.st, m.ctx, x.head, x.maxPair, x.maxQuery, x.qlow
	var probs []int64
	if x.student >= 0 {
		probs = append(probs, x.labs[x.student].ID)
	}
	return func() tea.Msg {
		msg := changesMsg{idx: x}
		msg.cells, msg.head, msg.more, msg.err = st.CellsChangedSince(ctx, head, 50000, probs)
		if msg.err == nil {
			msg.grow, msg.err = readGrowth(ctx, st, maxPair, maxQuery, qlow)
		}
		return msg
	}
}

func (b *browseState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case indexMsg:
		b.loading = false
		if msg.err != nil {
			b.loadErr = msg.err
			return nil, true
		}
		b.idx = msg.idx
		b.loadErr = nil
		b.refreshView(m)
		return tea.Batch(b.ensureTitles(m), b.refreshCmd(m), m.stats.dirty(m)), true
	case titlesMsg:
		b.titleInflight = false
		if msg.err != nil {
			return nil, true
		}
		if len(b.titles) > 200000 {
			b.titles = map[int64]string{}
		}
		for id, t := range msg.titles {
			b.titles[id] = t
		}
		return b.ensureTitles(m), true
	case changesMsg:
		b.refreshing = false
		if msg.err != nil || b.idx == nil || msg.idx != b.idx {
			return nil, true // failed, or read for an index since replaced
		}
		var cmds []tea.Cmd
		if msg.grow != nil {
			b.idx.grow(msg.grow)
			b.news += len(msg.grow.ids)
			if b.idx.titleKey != nil {
				cmds = append(cmds, b.titleKeyCmd(m)) // rank the new pairs' titles too
			}
		}
		unknown := false
		for _, c := range msg.cells {
			if !b.idx.apply(c, m.scale.Min()) && b.idx.row(c.PairID) >= 0 {
				unknown = true
			}
		}
		b.idx.head = msg.head
		if len(msg.cells) > 0 || msg.grow != nil {
			b.refreshView(m)
			cmds = append(cmds, m.stats.dirty(m), b.ensureTitles(m))
		}
		if unknown {
			// A new labeler: rebuild the index (rare) and the labeler list.
			cmds = append(cmds, b.loadCmd(m), m.labelersCmd())
		} else if msg.more {
			cmds = append(cmds, b.refreshCmd(m))
		}
		return tea.Batch(cmds...), true
	case titleKeyMsg:
		if msg.err != nil {
			m.setFlash("sorting by title: "+msg.err.Error(), true)
			return nil, true
		}
		if b.idx != nil && len(msg.key) <= len(b.idx.ids) {
			b.idx.titleKey, b.idx.titleKeys = msg.key, msg.docs+1
			if b.wantTitleSort {
				b.wantTitleSort = false
				b.sortCol = 1
				b.recompute(m)
			} else if b.sortCol == 1 {
				b.refreshView(m)
			}
		}
		return b.ensureTitles(m), true
	case labelersMsg:
		if msg.err == nil {
			return m.onLabelers(msg.labelers), true
		}
		return nil, true
	}
	return nil, false
}

type labelersMsg struct {
	labelers []store.Labeler
	err      error
}

func (m *Model) labelersCmd() tea.Cmd {
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		ls, err := st.Labelers(ctx)
		return labelersMsg{labelers: ls, err: err}
	}
}

// applyMine reflects one of this annotator's committed writes at once.
func (b *browseState) applyMine(m *Model, j store.Judgment) {
	if b.idx == nil {
		return
	}
	c := store.Cell{PairID: j.PairID, LabelerID: j.LabelerID, Grade: j.Grade, Status: j.Status}
	if j.Status != store.StatusOK {
		c.Grade = -1
	}
	b.idx.apply(c, m.scale.Min())
}

// invalidate marks a pair for re-reading (after an undo).
func (b *browseState) invalidate(int64) {}

// numCols is the number of selectable columns.
func (b *browseState) numCols() int {
	if b.idx == nil {
		return 3
	}
	return 3 + len(b.idx.cols)
}

// recompute filters and sorts the rows: linear passes over the compact
// arrays and a counting sort, a few milliseconds for a million pairs. The
// selected pair stays selected when it is still shown.
func (b *browseState) recompute(m *Model) { b.filterRows(m, false) }

// refreshView recomputes the rows after the workspace changed under the
// user (grades or pairs arrived, the index was rebuilt): the selected pair
// stays selected, on the same line of the screen, even when it no longer
// matches the filters, until the user moves.
func (b *browseState) refreshView(m *Model) { b.filterRows(m, true) }

func (b *browseState) filterRows(m *Model, pin bool) {
	x := b.idx
	if x == nil {
		return
	}
	n := len(x.ids)
	selID, line := int64(-1), 0
	if b.cursor < len(b.rows) && b.prevIdx != nil && int(b.rows[b.cursor]) < len(b.prevIdx.ids) {
		selID, line = b.prevIdx.ids[b.rows[b.cursor]], b.cursor-b.offset
	}
	b.prevIdx = x
	sel := int32(x.row(selID))
	if !pin {
		sel = -1
	}
	var qok []bool
	if b.search != "" {
		needle := strings.ToLower(b.search)
		qok = make([]bool, len(x.qlow))
		for i, t := range x.qlow {
			qok[i] = strings.Contains(t, needle)
		}
	}
	me := -1
	if ci, ok := x.colOf[m.me.ID]; ok {
		me = ci
	}
	var models, humans []int
	for i, l := range x.labs {
		if isModel(l) {
			models = append(models, i)
		} else {
			humans = append(humans, i)
		}
	}
	view := b.rows[:0]
	if cap(view) < n {
		view = make([]int32, 0, n)
	}
	cols := x.cols
	for r := 0; r < n; r++ {
		if int32(r) == sel {
			view = append(view, int32(r))
			continue
		}
		if qok != nil && !qok[x.qix[r]] {
			continue
		}
		if b.gradeCol >= 0 && b.gradeCol < len(cols) && int(cols[b.gradeCol][r]) != b.gradeVal {
			continue
		}
		switch b.filter {
		case fNotMine:
			if me >= 0 && cols[me][r] >= 0 {
				continue
			}
		case fTeacherStudent:
			if x.teacher < 0 || x.student < 0 {
				continue
			}
			t, s := cols[x.teacher][r], cols[x.student][r]
			if t < 0 || s < 0 || t == s {
				continue
			}
		case fModelHuman:
			if !modelHumanDiffer(cols, models, humans, r) {
				continue
			}
		case fDisagree2:
			if x.disagreement(r) < 2 {
				continue
			}
		case fUncertain:
			if x.spread == nil || x.spread[r] == noSpread || x.spread[r] < uncertainSpread {
				continue
			}
		}
		view = append(view, int32(r))
	}
	if b.sortCol >= 0 {
		view = b.sorted(m, view)
	}
	b.rows = view
	b.cursor = min(b.cursor, max(len(view)-1, 0))
	if r := int32(x.row(selID)); r >= 0 {
		if i := slices.Index(view, r); i >= 0 {
			b.cursor = i
			b.offset = i - line
		}
	}
	b.clampOffset(m)
}

func modelHumanDiffer(cols [][]int8, models, humans []int, r int) bool {
	for _, h := range humans {
		hv := cols[h][r]
		if hv < 0 {
			continue
		}
		for _, mc := range models {
			if v := cols[mc][r]; v >= 0 && v != hv {
				return true
			}
		}
	}
	return false
}

// sorted orders rows by the sort column with a stable counting sort.
func (b *browseState) sorted(m *Model, rows []int32) []int32 {
	x := b.idx
	var key func(r int32) int32
	var k int32
	switch {
	case b.sortCol == 0:
		key, k = func(r int32) int32 { return x.qrank[x.qix[r]] }, int32(len(x.qrank))
	case b.sortCol == 1:
		tk, last := x.titleKey, x.titleKeys-1
		if tk == nil {
			return rows
		}
		// Pairs added since the key was read sort last until it is read again.
		key, k = func(r int32) int32 {
			if int(r) < len(tk) {
				return tk[r]
			}
			return last
		}, x.titleKeys
	case b.sortCol-2 < len(x.cols):
		c := x.cols[b.sortCol-2]
		// Grades first, then unsure, failed, none.
		key, k = func(r int32) int32 {
			v := c[r]
			if v >= 0 {
				return int32(v)
			}
			return 127 - int32(v)
		}, 131
	default:
		key, k = func(r int32) int32 { return int32(x.disagreement(int(r)) + 1) }, 130
	}
	counts := make([]int32, k+1)
	keys := make([]int32, len(rows))
	for i, r := range rows {
		kv := key(r)
		if b.sortDesc {
			kv = k - 1 - kv
		}
		keys[i] = kv
		counts[kv+1]++
	}
	for i := int32(1); i <= k; i++ {
		counts[i] += counts[i-1]
	}
	out := make([]int32, len(rows))
	for i, r := range rows {
		out[counts[keys[i]]] = r
		counts[keys[i]]++
	}
	return out
}

func (b *browseState) tableHeight(m *Model) int { return max(m.height-3-2, 1) }

func (b *browseState) clampOffset(m *Model) {
	h := b.tableHeight(m)
	if b.cursor < b.offset {
		b.offset = b.cursor
	}
	if b.cursor >= b.offset+h {
		b.offset = b.cursor - h + 1
	}
	b.offset = max(min(b.offset, len(b.rows)-h), 0)
}

// ensureTitles fetches the document titles of the rows around the window.
func (b *browseState) ensureTitles(m *Model) tea.Cmd {
	if b.idx == nil || b.titleInflight || m.screen != scrBrowse {
		return nil
	}
	h := b.tableHeight(m)
	lo, hi := max(b.offset-2*h, 0), min(b.offset+3*h, len(b.rows))
	var need []int64
	seen := map[int64]bool{}
	for _, r := range b.rows[lo:hi] {
		d := b.idx.dids[r]
		if _, ok := b.titles[d]; !ok && !seen[d] {
			need = append(need, d)
			seen[d] = true
		}
	}
	if len(need) == 0 {
		return nil
	}
	b.titleInflight = true
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		t, err := st.DocTitles(ctx, need)
		return titlesMsg{titles: t, err: err}
	}
}

func (b *browseState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	if b.idx == nil {
		return nil, false
	}
	km := &m.keys
	b.news = 0
	if b.awaitEq {
		b.awaitEq = false
		if g, ok := m.digit(k); ok && b.col >= 2 && b.col-2 < len(b.idx.cols) {
			b.gradeCol, b.gradeVal = b.col-2, g
		} else {
			b.gradeCol = -1
		}
		b.recompute(m)
		return b.ensureTitles(m), true
	}
	if g, ok := m.digit(k); ok {
		if len(b.rows) == 0 {
			return nil, true
		}
		// The selected row is graded and stays selected: moving on is
		// the annotator's j, so "j then a digit" grades the row j chose.
		r := b.rows[b.cursor]
		cmd := m.quickGrade(b.idx.ids[r], g, b.idx)
		if cmd != nil {
			m.setFlash(fmt.Sprintf("graded %d: %s × %s (still selected: j for the next)", g,
				clip(b.idx.qtext[b.idx.qix[r]], 40), clip(b.titleOf(int(r)), 40)), false)
		}
		return cmd, true
	}
	h := b.tableHeight(m)
	switch {
	case key.Matches(k, km.bDown):
		b.move(m, 1)
	case key.Matches(k, km.bUp):
		b.move(m, -1)
	case key.Matches(k, km.bPageDown):
		b.move(m, h)
	case key.Matches(k, km.bPageUp):
		b.move(m, -h)
	case key.Matches(k, km.bTop):
		b.move(m, -len(b.rows))
	case key.Matches(k, km.bBottom):
		b.move(m, len(b.rows))
	case key.Matches(k, km.bOpen):
		if len(b.rows) > 0 {
			return m.openPair(b.idx.ids[b.rows[b.cursor]]), true
		}
		return nil, true
	case key.Matches(k, km.filter):
		b.filter = (b.filter + 1) % numFilters
		b.recompute(m)
	case key.Matches(k, km.filterPrev):
		b.filter = (b.filter + numFilters - 1) % numFilters
		b.recompute(m)
	case key.Matches(k, km.colLeft):
		b.col = (b.col + b.numCols() - 1) % b.numCols()
	case key.Matches(k, km.colRight):
		b.col = (b.col + 1) % b.numCols()
	case key.Matches(k, km.sort):
		if b.sortCol == b.col {
			b.sortDesc = !b.sortDesc
		} else {
			b.sortCol, b.sortDesc = b.col, b.col >= 2
		}
		if b.sortCol == 1 && b.idx.titleKey == nil {
			b.wantTitleSort = true
			b.sortCol = -1
			m.setFlash("sorting by title: reading titles…", false)
			return b.titleKeyCmd(m), true
		}
		b.recompute(m)
	case key.Matches(k, km.gradeIs):
		if b.col < 2 || b.col-2 >= len(b.idx.cols) {
			m.setFlash("select a labeler column first (←/→)", false)
			return nil, true
		}
		b.awaitEq = true
		m.setFlash(fmt.Sprintf("only pairs %s graded: press %s (other key: clear)", b.idx.labs[b.col-2].Name, km.grade.Help().Key), false)
	case key.Matches(k, km.search):
		setSearch := func(m *Model, text string) tea.Cmd {
			m.browse.search = text
			m.browse.recompute(m)
			return m.browse.ensureTitles(m)
		}
		m.input = m.newInput("search queries", b.search, setSearch)
		m.input.hint = "enter keep · esc clear"
		m.input.setWidth(m)
		m.input.live = setSearch
		m.input.cancel = func(m *Model) tea.Cmd { return setSearch(m, "") }
	case key.Matches(k, km.clear):
		b.filter, b.search, b.sortCol, b.gradeCol, b.sortDesc = fAll, "", -1, -1, false
		b.recompute(m)
	case key.Matches(k, km.reapply):
		b.recompute(m)
	default:
		return nil, false
	}
	return b.ensureTitles(m), true
}

func (b *browseState) titleKeyCmd(m *Model) tea.Cmd {
	st, ctx, dids := m.st, m.ctx, b.idx.dids // elements never change; new pairs are appended
	return func() tea.Msg {
		order, err := st.DocsByTitle(ctx)
		if err != nil {
			return titleKeyMsg{err: err}
		}
		rank := make(map[int64]int32, len(order))
		for i, id := range order {
			rank[id] = int32(i)
		}
		key := make([]int32, len(dids))
		for r, d := range dids {
			key[r] = rank[d]
		}
		return titleKeyMsg{key: key, docs: int32(len(order))}
	}
}

// titleOf is the row's document title, "…" until it is read.
func (b *browseState) titleOf(r int) string {
	if t, ok := b.titles[b.idx.dids[r]]; ok {
		return t
	}
	return "…"
}

func (b *browseState) move(m *Model, d int) {
	b.cursor = max(min(b.cursor+d, len(b.rows)-1), 0)
	b.clampOffset(m)
}

// quickGrade grades a pair from a table row.
func (m *Model) quickGrade(pairID int64, g int, x *index) tea.Cmd {
	if m.me.ID == 0 {
		return nil
	}
	if ci, ok := x.colOf[m.me.ID]; ok {
		r := x.row(pairID)
		switch v := x.cols[ci][r]; {
		case v >= 0:
			bumpProgress(&m.grade.progress, store.StatusOK, -1)
		case v == cUnsure:
			bumpProgress(&m.grade.progress, store.StatusUnsure, -1)
		case v == cFailed:
			bumpProgress(&m.grade.progress, store.StatusError, -1)
		}
	}
	bumpProgress(&m.grade.progress, store.StatusOK, 1)
	m.grade.recent[pairID] = true
	j := store.Judgment{PairID: pairID, LabelerID: m.me.ID, Grade: g, Status: store.StatusOK}
	m.browse.applyMine(m, j)
	return m.enqueue(writeOp{kind: writePut, j: j})
}

// ---- view ---------------------------------------------------------------

func shortName(name string, w int) string {
	if rest, ok := strings.CutPrefix(name, "human:"); ok {
		name = "@" + rest
	}
	return clip(name, w)
}

func (b *browseState) view(m *Model, w, h int) []string {
	s := m.sty
	x := b.idx
	if x == nil {
		if b.loadErr != nil {
			return []string{"", s.bad.Render("  cannot load the pairs: " + b.loadErr.Error())}
		}
		return []string{"", s.muted.Render(fmt.Sprintf("  indexing %d pairs… (grading works meanwhile: shift+tab)", m.grade.progress.Pairs))}
	}
	// Columns: query, title, one per labeler (as many as fit), Δ.
	const gw = 6
	nl := len(x.cols)
	fixed := 1 + 4 // margin + Δ
	maxL := max((w-fixed-30)/gw, 0)
	shownL := min(nl, maxL)
	rest := w - fixed - shownL*gw
	qw := max(rest*45/100, 8)
	tw := max(rest-qw-1, 6)
	var out []string
	// Filter line.
	desc := []string{filterNames[b.filter]}
	if b.search != "" {
		desc = append(desc, fmt.Sprintf("query ~ %q", b.search))
	}
	if b.gradeCol >= 0 && b.gradeCol < nl {
		desc = append(desc, fmt.Sprintf("%s = %d", x.labs[b.gradeCol].Name, b.gradeVal))
	}
	count := fmt.Sprintf("%d of %d pairs", len(b.rows), len(x.ids))
	if b.news > 0 {
		count += fmt.Sprintf(" · %d new", b.news)
	}
	out = append(out, " "+s.accent.Render(strings.Join(desc, " · "))+s.muted.Render("  "+count))
	// Header.
	hdr := func(i int, name string, wd int, right bool) string {
		label := name
		if b.sortCol == i {
			if b.sortDesc {
				label += "↓"
			} else {
				label += "↑"
			}
		}
		var t string
		if right {
			t = padLeft(label, wd)
		} else {
			t = pad(label, wd)
		}
		if b.col == i {
			return s.sel.Bold(true).Render(t)
		}
		return s.header.Render(t)
	}
	var hb strings.Builder
	hb.WriteString(" ")
	hb.WriteString(hdr(0, "query", qw, false))
	hb.WriteString(" ")
	hb.WriteString(hdr(1, "document", tw, false))
	for i := 0; i < shownL; i++ {
		name := ansi.Truncate(shortName(x.labs[i].Name, 40), gw-1, "")
		if x.labs[i].ID == m.me.ID {
			name = "me"
		}
		hb.WriteString(hdr(2+i, name, gw, true))
	}
	hb.WriteString(hdr(2+nl, "Δ", 4, true))
	out = append(out, hb.String())
	// Blind mode holds in Browse too: on a pair I have not graded, the
	// other labelers' grades (and their disagreement) stay hidden.
	myCol := -1
	for c := range x.labs {
		if x.labs[c].ID == m.me.ID {
			myCol = c
		}
	}
	th := h - 2
	if len(b.rows) == 0 {
		out = append(out, "", s.muted.Render("  no pairs match (esc clears the filters)"))
		return out
	}
	for i := 0; i < th && b.offset+i < len(b.rows); i++ {
		vi := b.offset + i
		r := int(b.rows[vi])
		q := pad(x.qtext[x.qix[r]], qw)
		title, ok := b.titles[x.dids[r]]
		if !ok {
			title = "…"
		}
		t := pad(title, tw)
		selected := vi == b.cursor
		var rb strings.Builder
		if selected {
			rb.WriteString(s.accent.Render("▌"))
		} else {
			rb.WriteString(" ")
		}
		var cells strings.Builder
		cells.WriteString(q + " " + t)
		plain := selected
		hidden := m.blind && (myCol < 0 || x.cols[myCol][r] < 0)
		for c := 0; c < shownL; c++ {
			if hidden && c != myCol {
				cells.WriteString(hiddenCell(m, gw, plain))
				continue
			}
			cells.WriteString(cellText(m, x.cols[c][r], gw, plain))
		}
		d := x.disagreement(r)
		ds := "·"
		if d >= 0 && !hidden {
			ds = strconv.Itoa(d)
		}
		dcell := padLeft(ds, 4)
		if !plain && d >= 2 {
			dcell = s.bad.Render(dcell)
		} else if !plain && d == 1 {
			dcell = s.warn.Render(dcell)
		}
		cells.WriteString(dcell)
		if selected {
			rb.WriteString(s.sel.Render(cells.String()))
		} else {
			rb.WriteString(cells.String())
		}
		out = append(out, rb.String())
	}
	return out
}

// hiddenCell stands for a grade blind mode keeps from me until I grade.
func hiddenCell(m *Model, w int, plain bool) string {
	t := padLeft("–", w)
	if plain {
		return t
	}
	return m.sty.muted.Render(t)
}

func cellText(m *Model, v int8, w int, plain bool) string {
	var t string
	st := m.sty.muted
	switch {
	case v >= 0:
		t = strconv.Itoa(int(v))
		st = m.sty.gradeStyle(m.levelIndex(int(v)))
	case v == cUnsure:
		t = "?"
		st = m.sty.warn
	case v == cFailed:
		t = "✗"
		st = m.sty.bad
	default:
		t = "·"
	}
	t = padLeft(t, w)
	if plain {
		return t
	}
	return st.Render(t)
}

// gradesSnapshot copies the grade columns for a background computation.
func (x *index) gradesSnapshot() ([]store.Labeler, [][]int8) {
	cols := make([][]int8, len(x.cols))
	for i, c := range x.cols {
		cols[i] = slices.Clone(c)
	}
	return slices.Clone(x.labs), cols
}
