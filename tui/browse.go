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

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// Cell values of the browse index besides grades.
const (
	cNone   int8 = -1            // no judgment
	cUnsure int8 = -2            // judge later
	cFailed int8 = -3            // error, unparseable, refused
	noProbs      = math.MaxUint8 // no grade probabilities
)

// index is the Browse table's data for every pair, in compact arrays (a
// million pairs take a few tens of megabytes): the pair's ids and, per
// labeler column, its current grade. Only the visible rows' texts are ever
// fetched. ids, qix and dids never change after load; cols and uncert are
// updated in place by Update as grades arrive.
type index struct {
	ids   []int64
	qix   []int32 // dense query index into qtext / qrank
	dids  []int64
	minID int64
	pos   []int32 // pair id - minID -> row (-1: none)

	qtext  []string // query text by dense index
	qlow   []string // lowercased, for the query column's sort
	qrank  []int32  // rank of the query text among all queries
	queryW int      // the widest query text, in cells

	labs  []store.Labeler // columns, display order
	colOf map[int64]int
	cols  [][]int8

	student, teacher int     // column of the student / teacher (-1: none)
	uncert           []uint8 // student's uncertainty (see probUncertainty; noProbs: none)

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

// probUncertainty is how unsure a labeler's grade probabilities (a JSON
// array) are: 250 × (1 − margin), the margin being the probability of the
// most likely grade minus that of the runner-up (margin sampling, the
// usual active-learning measure): 0 when one grade has it all, 250 when
// two tie. noProbs when there are none.
func probUncertainty(probs string) uint8 {
	if len(probs) < 2 || probs[0] != '[' {
		return noProbs
	}
	var p1, p2, tot float64
	for f := range strings.SplitSeq(probs[1:len(probs)-1], ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || p < 0 {
			return noProbs
		}
		tot += p
		switch {
		case p > p1:
			p1, p2 = p, p1
		case p > p2:
			p2 = p
		}
	}
	if tot <= 0 {
		return noProbs
	}
	return uint8(math.Round(250 * (1 - (p1-p2)/tot)))
}

// The "student uncertain" filter: the least certain tenth of the pairs the
// student gave probabilities for (ties at the cut included), and never a
// pair whose top grade leads the next by more than maxUncertainMargin.
const (
	uncertainShare     = 10 // percent
	maxUncertainMargin = 0.5
)

// uncertainCut is the uncertainty at and above which the student is
// uncertain, and how many pairs have probabilities (cut 0: none).
func (x *index) uncertainCut() (cut uint8, withProbs int) {
	if x.uncert == nil {
		return 0, 0
	}
	var hist [256]int
	for _, u := range x.uncert {
		hist[u]++
	}
	withProbs = len(x.uncert) - hist[noProbs]
	if withProbs == 0 {
		return 0, 0
	}
	want := (withProbs*uncertainShare + 99) / 100
	floor := uint8(math.Round(250 * (1 - maxUncertainMargin)))
	n := 0
	for u := 250; u >= int(floor); u-- {
		n += hist[u]
		cut = uint8(u)
		if n >= want {
			break
		}
	}
	if n == 0 {
		cut = 251 // nothing is that uncertain
	}
	return cut, withProbs
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
	var uncert []uint8
	if studentCol >= 0 {
		uncert = make([]uint8, len(x.ids))
		for r := range uncert {
			uncert[r] = noProbs
		}
	}
	counts := make([]int, len(labs))
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
					uncert[r] = probUncertainty(probs)
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
			x.uncert = uncert
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
		x.queryW = max(x.queryW, ansi.StringWidth(texts[id]))
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
	if x.uncert != nil {
		x.uncert = slices.Grow(x.uncert, n)
		for range n {
			x.uncert = append(x.uncert, noProbs)
		}
	}
}

// apply sets one cell from a change; false when the labeler has no column.
func (x *index) apply(c store.Cell) bool {
	ci, ok := x.colOf[c.LabelerID]
	if !ok {
		return false
	}
	r := x.row(c.PairID)
	if r < 0 {
		return false
	}
	x.cols[ci][r] = cellOf(c)
	if ci == x.student && x.uncert != nil {
		x.uncert[r] = probUncertainty(c.Probs)
	}
	return true
}

// disagreement is the largest difference between any two grades of a row
// (-1: fewer than two grades, undefined).
func (x *index) disagreement(r int) int {
	lo, hi, n := int8(math.MaxInt8), int8(-1), 0
	for _, c := range x.cols {
		if v := c[r]; v >= 0 {
			lo, hi, n = min(lo, v), max(hi, v), n+1
		}
	}
	if n < 2 {
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

type browseState struct {
	idx     *index
	loading bool
	loadErr error

	rows    []int32 // rows shown, in order (of prevIdx)
	prevIdx *index  // the index rows were computed from
	cursor  int
	offset  int

	filter    int
	search    string     // the search typed (see search.go)
	match     *wordMatch // its words, once looked up
	searchSeq int
	inCount   [3]int // rows the search matched in query, title, body

	uncertainCut uint8 // "student uncertain": the cut last applied
	withProbs    int   // pairs with the student's probabilities
	col          int   // selected column: 0 query, 1 title, 2.. labelers, last Δ
	sortCol      int   // -1: pair order
	sortDesc     bool
	gradeCol     int // labeler column filter (-1: none)
	gradeVal     int
	awaitEq      bool // "=" pressed: the next digit sets gradeVal

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
		return tea.Batch(b.ensureTitles(m), b.refreshCmd(m), m.gradesChanged()), true
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
			if b.searching() != nil {
				cmds = append(cmds, b.searchCmd(m)) // the new pairs' words
			}
		}
		unknown := false
		for _, c := range msg.cells {
			if !b.idx.apply(c) && b.idx.row(c.PairID) >= 0 {
				unknown = true
			}
		}
		b.idx.head = msg.head
		if len(msg.cells) > 0 || msg.grow != nil {
			b.refreshView(m)
			cmds = append(cmds, m.gradesChanged(), b.ensureTitles(m))
		}
		if unknown {
			// A new labeler: rebuild the index (rare) and the labeler list.
			cmds = append(cmds, b.loadCmd(m), m.labelersCmd())
		} else if msg.more {
			cmds = append(cmds, b.refreshCmd(m))
		}
		return tea.Batch(cmds...), true
	case searchMsg:
		return b.onSearch(m, msg), true
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
	b.idx.apply(c)
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
	sm := b.searching()
	if sm != nil {
		sm.bind(x)
	}
	var cut uint8
	if b.filter == fUncertain {
		cut, b.withProbs = x.uncertainCut()
		b.uncertainCut = cut
	}
	b.inCount = [3]int{}
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
		if sm != nil {
			f := sm.fields(x, r)
			if f == 0 {
				continue
			}
			for i := range b.inCount {
				if f&(1<<i) != 0 {
					b.inCount[i]++
				}
			}
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
			if x.uncert == nil || x.uncert[r] == noProbs || x.uncert[r] < cut {
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

func (b *browseState) tableHeight(m *Model) int {
	legend := 1
	if b.idx != nil {
		legend = len(b.layout(m, m.width).legendLines)
	}
	return max(m.height-3-2-legend, 1)
}

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
		setSearch := func(m *Model, text string) tea.Cmd { return m.browse.setSearch(m, text) }
		m.input = m.newInput("search words in query, title, body", b.search, setSearch)
		m.input.hint = "enter keep · esc clear"
		m.input.setWidth(m)
		m.input.live = setSearch
		m.input.cancel = func(m *Model) tea.Cmd { return setSearch(m, "") }
	case key.Matches(k, km.clear):
		b.filter, b.sortCol, b.gradeCol, b.sortDesc = fAll, -1, -1, false
		return b.setSearch(m, ""), true
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

// browseLayout shares the table's width: labeler columns get their full
// names while the query and document keep at least two fifths of the
// width, then shorter labels (the same abbreviations as on Stats, with a
// legend), then only as many columns as fit, scrolled to keep the selected
// one in view.
type browseLayout struct {
	qw, tw      int   // query and document columns
	first, n    int   // labeler columns shown: first .. first+n-1
	widths      []int // width of each labeler column (a gap, then the label)
	inW         int   // the search's "in" column (0: no search)
	labels      []string
	abbrev      string // what shortened labels stand for
	legendLines []string
}

const deltaW = 4 // the Δ column

func (b *browseState) layout(m *Model, w int) browseLayout {
	x := b.idx
	var l browseLayout
	if b.searching() != nil {
		l.inW = 4
	}
	nl := len(x.labs)
	fixed := 1 + deltaW + l.inW
	minText := max(30, w/2)
	budget := max(w-fixed-minText, 0)
	// Each column is as wide as its label; labels are shortened alike
	// (to cap cells) until every column fits.
	full := make([]int, nl)
	for i, lab := range x.labs {
		full[i] = max(ansi.StringWidth(displayName(lab, m.me.ID)), 1)
	}
	capW := min(max(slices.Max(append(full, 2)), 2), 12)
	widths := func(c int) (ws []int, sum int) {
		ws = make([]int, nl)
		for i, f := range full {
			ws[i] = min(f, c) + 1
			sum += ws[i]
		}
		return ws, sum
	}
	ws, sum := widths(capW)
	for capW > 3 && sum > budget {
		capW--
		ws, sum = widths(capW)
	}
	l.widths = ws
	// As many columns as fit, from first, the selected one among them.
	fit := func(first int) int {
		n, used := 0, 0
		for i := first; i < nl && used+ws[i] <= budget; i++ {
			n, used = n+1, used+ws[i]
		}
		return n
	}
	l.n = fit(0)
	if sel := b.col - 2; sel >= 0 && sel < nl {
		for l.first < sel && sel >= l.first+l.n {
			l.first++
			l.n = fit(l.first)
		}
	}
	l.labels, l.abbrev = labelerLabels(x.labs, m.me.ID, capW)
	used := 0
	for i := l.first; i < l.first+l.n; i++ {
		used += ws[i]
	}
	rest := w - fixed - used
	// The query gets up to 45% (no more than its longest text needs), the
	// document title the rest.
	l.qw = max(min(rest*45/100, x.queryW+1), 8)
	l.tw = max(rest-l.qw-1, 6)
	l.legendLines = b.legend(m, w, l)
	return l
}

// legend explains every symbol of the table, and the shortened labels, in
// as few lines as the width allows.
func (b *browseState) legend(m *Model, w int, l browseLayout) []string {
	parts := []string{"· no grade", "? unsure", "✗ failed"}
	if m.blind {
		parts = append(parts, "– hidden until you grade")
	}
	parts = append(parts, "Δ largest difference (blank: <2 grades)")
	if l.inW > 0 {
		parts = append(parts, "in: found in q query, t title, b body")
	}
	if l.abbrev != "" {
		parts = append(parts, l.abbrev)
	}
	if nl := len(b.idx.labs); l.n < nl {
		parts = append(parts, fmt.Sprintf("labelers %d–%d of %d (←/→)", l.first+1, l.first+l.n, nl))
	}
	return wrapParts(parts, w)
}

func (b *browseState) view(m *Model, w, h int) []string {
	s := m.sty
	x := b.idx
	if x == nil {
		if b.loadErr != nil {
			return []string{"", s.bad.Render("  cannot load the pairs: " + b.loadErr.Error())}
		}
		return []string{"", s.muted.Render(fmt.Sprintf("  indexing %s… (grading works meanwhile: shift+tab)", words.Count(m.grade.progress.Pairs, "pair")))}
	}
	l := b.layout(m, w)
	nl := len(x.cols)
	var out []string
	// Filter line.
	desc := []string{b.filterDesc()}
	if b.search != "" {
		desc = append(desc, b.searchDesc())
	}
	if b.gradeCol >= 0 && b.gradeCol < nl {
		desc = append(desc, fmt.Sprintf("%s = %d", x.labs[b.gradeCol].Name, b.gradeVal))
	}
	count := fmt.Sprintf("%s of %s", words.Int(len(b.rows)), words.Count(len(x.ids), "pair"))
	if b.news > 0 {
		count += fmt.Sprintf(" · %s new", words.Int(b.news))
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
	hb.WriteString(hdr(0, "query", l.qw, false))
	hb.WriteString(" ")
	hb.WriteString(hdr(1, "document", l.tw, false))
	if l.inW > 0 {
		hb.WriteString(s.header.Render(padLeft("in", l.inW)))
	}
	for i := l.first; i < l.first+l.n; i++ {
		hb.WriteString(hdr(2+i, l.labels[i], l.widths[i], true))
	}
	hb.WriteString(hdr(2+nl, "Δ", deltaW, true))
	out = append(out, hb.String())
	// Blind mode holds in Browse too: on a pair I have not graded, the
	// other labelers' grades (and their disagreement) stay hidden.
	myCol := -1
	for c := range x.labs {
		if x.labs[c].ID == m.me.ID {
			myCol = c
		}
	}
	th := h - 2 - len(l.legendLines)
	if len(b.rows) == 0 {
		out = append(out, "", s.muted.Render("  "+b.emptyReason()))
		return out
	}
	sm := b.searching()
	for i := 0; i < th; i++ {
		vi := b.offset + i
		if vi >= len(b.rows) {
			out = append(out, "")
			continue
		}
		r := int(b.rows[vi])
		q := pad(x.qtext[x.qix[r]], l.qw)
		t := pad(b.titleOf(r), l.tw)
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
		if sm != nil {
			in := padLeft(fieldsText(sm.fields(x, r)), l.inW)
			if !plain {
				in = s.muted.Render(in)
			}
			cells.WriteString(in)
		}
		hidden := m.blind && (myCol < 0 || x.cols[myCol][r] < 0)
		for c := l.first; c < l.first+l.n; c++ {
			if hidden && c != myCol {
				cells.WriteString(hiddenCell(m, l.widths[c], plain))
				continue
			}
			cells.WriteString(cellText(m, x.cols[c][r], l.widths[c], plain))
		}
		d := x.disagreement(r)
		ds := ""
		switch {
		case hidden:
			ds = "–"
		case d >= 0:
			ds = strconv.Itoa(d)
		}
		dcell := padLeft(ds, deltaW)
		if !plain && d >= 2 && !hidden {
			dcell = s.bad.Render(dcell)
		} else if !plain && (d == 1 || hidden) {
			dcell = s.warn.Render(dcell)
			if hidden {
				dcell = s.muted.Render(padLeft(ds, deltaW))
			}
		}
		cells.WriteString(dcell)
		if selected {
			rb.WriteString(s.sel.Render(cells.String()))
		} else {
			rb.WriteString(cells.String())
		}
		out = append(out, rb.String())
	}
	for _, ln := range l.legendLines {
		out = append(out, s.muted.Render(ln))
	}
	return out
}

// filterDesc names the preset filter, with the measure it applies.
func (b *browseState) filterDesc() string {
	x := b.idx
	switch b.filter {
	case fTeacherStudent:
		switch {
		case x.teacher < 0 && x.student < 0:
			return "teacher ≠ student: no labeler has the teacher or the student role yet (qrelbench labeler add --role)"
		case x.teacher < 0:
			return "teacher ≠ student: no labeler with the teacher role has graded"
		case x.student < 0:
			return "teacher ≠ student: no student has graded"
		}
	case fModelHuman:
		if !slices.ContainsFunc(x.labs, isHumanish) {
			return "any model ≠ human: no human grades yet"
		}
	}
	if b.filter != fUncertain {
		return filterNames[b.filter]
	}
	switch {
	case x.student < 0:
		return "student uncertain: no student has graded"
	case b.withProbs == 0:
		return "student uncertain: the student gave no grade probabilities"
	case b.uncertainCut > 250:
		return fmt.Sprintf("student uncertain: none of %s has a top-2 margin ≤ %.2f", words.Count(b.withProbs, "pair"), maxUncertainMargin)
	}
	return fmt.Sprintf("student uncertain: top-2 margin ≤ %.2f (least certain %d%% of %s with probabilities)",
		1-float64(b.uncertainCut)/250, uncertainShare, words.Int(b.withProbs))
}

// emptyReason says why no row is shown.
func (b *browseState) emptyReason() string {
	if len(b.idx.ids) == 0 {
		return "no pairs in the workspace yet: import pairs, or mine / synthesize them (Runs)"
	}
	if b.search != "" && b.match != nil && b.match.text == b.search && len(b.match.words) > 0 && b.filter == fAll && b.gradeCol < 0 {
		return fmt.Sprintf("no pair has every word of %q in its query, title or body (whole words; esc clears)", b.search)
	}
	return "no pairs match (esc clears search and filters)"
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
