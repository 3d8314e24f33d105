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
	"sync/atomic"
	"time"

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

// index is the Browse table's data for every pair, in compact arrays of
// 4-byte ids and 1-byte grades (no per-pair structs, strings or pointers:
// ten million pairs with four labelers take about 220 MB): the pair's ids
// and, per labeler column, its current grade. Only the visible rows' texts
// are ever fetched. ids, qix and dids never change after load; cols, delta
// and uncert are updated in place by Update as grades arrive.
type index struct {
	ids   []int32 // pair id per row, ascending
	qix   []int32 // dense query index into qtext / qrank
	dids  []int32 // document id per row
	minID int64
	pos   []int32 // pair id - minID -> row (-1: none); nil while ids are minID, minID+1, … (row = id - minID)

	qtext  []string // query text by dense index
	qlow   []string // lowercased, for the query column's sort
	qrank  []int32  // rank of the query text among all queries
	queryW int      // the widest query text, in cells

	labs  []store.Labeler // columns, display order
	colOf map[int64]int
	cols  [][]int8
	delta []int8 // largest difference between two grades of the row (-1: fewer than two), kept with cols

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

// n is the number of pairs (rows) in the index.
func (x *index) n() int { return len(x.ids) }

// id is the pair id of row r.
func (x *index) id(r int32) int64 { return int64(x.ids[r]) }

func (x *index) row(pairID int64) int {
	i := pairID - x.minID
	if x.pos == nil {
		if i < 0 || i >= int64(len(x.ids)) {
			return -1
		}
		return int(i)
	}
	if i < 0 || i >= int64(len(x.pos)) {
		return -1
	}
	return int(x.pos[i])
}

// errIDRange is why a workspace cannot be browsed: the index keeps ids in
// 4 bytes.
var errIDRange = errors.New("a pair, query or document id is above 2,147,483,647: too large for the browse index")

// loadProgress is how far a background index load has read, for the
// loading screen: records read of about how many (pairs, then each
// labeler's grades). Written by the load, read by View.
type loadProgress struct {
	total, done atomic.Int64
}

// fraction is the share read so far (0 when not started).
func (p *loadProgress) fraction() float64 {
	if p == nil || p.total.Load() <= 0 {
		return 0
	}
	return min(float64(p.done.Load())/float64(p.total.Load()), 0.99)
}

// counter adds to done in steps of 1<<14 records (an atomic add per
// record would cost more than the record), flushed by the returned func.
func (p *loadProgress) counter() (tick func(), flush func()) {
	var n int64
	if p == nil {
		return func() {}, func() {}
	}
	return func() {
			if n++; n == 1<<14 {
				p.done.Add(n)
				n = 0
			}
		}, func() {
			p.done.Add(n)
			n = 0
		}
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

// buildIndex reads every pair and every current judgment: sequential
// scans, run in the background. prog (may be nil) hears how far it got.
func buildIndex(ctx context.Context, st *store.Store, me int64, prog *loadProgress) (*index, error) {
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
	if ch.Pairs > math.MaxInt32 {
		return nil, errIDRange
	}
	if prog != nil {
		// Every pair, then at most every pair per labeler.
		prog.total.Store(ch.Pairs * int64(1+len(labs)))
	}
	// Pairs before query texts: every query a pair names is then read.
	// Sized for the highest pair id (the count when ids have no gaps).
	hint := roomFor(int(ch.Pairs))
	x.ids = make([]int32, 0, hint)
	x.dids = make([]int32, 0, hint)
	qids := make([]int32, 0, hint) // query ids, then (in place) dense indexes
	tick, flush := prog.counter()
	inRange := true
	err = st.ScanPairIDs(ctx, 0, func(id, q, d int64) {
		if id > math.MaxInt32 || q > math.MaxInt32 || d > math.MaxInt32 || q < 0 || d < 0 {
			inRange = false
			return
		}
		x.ids = append(x.ids, int32(id))
		qids = append(qids, int32(q))
		x.dids = append(x.dids, int32(d))
		tick()
	})
	flush()
	if err != nil {
		return nil, err
	}
	if !inRange {
		return nil, errIDRange
	}
	texts, err := st.QueryTexts(ctx, 0)
	if err != nil {
		return nil, err
	}
	x.addQueries(texts)
	x.qrank = rankTexts(x.qlow)
	last, dense := int32(-1), int32(0)
	for r, q := range qids { // pairs come grouped by query: one lookup per query
		if q != last {
			last, dense = q, x.qdense[int64(q)]
		}
		qids[r] = dense
	}
	x.qix = qids
	n := len(x.ids)
	if n > 0 {
		x.minID = int64(x.ids[0])
		x.maxPair = int64(x.ids[n-1])
		if x.maxPair-x.minID+1 != int64(n) {
			x.pos = make([]int32, x.maxPair-x.minID+1)
			for i := range x.pos {
				x.pos[i] = -1
			}
			for r, id := range x.ids {
				x.pos[int64(id)-x.minID] = int32(r)
			}
		}
	}
	// Columns: every labeler, empty ones dropped after the scan (except me).
	labs = orderLabelers(labs)
	all := make([][]int8, len(labs))
	studentCol := -1
	for i, l := range labs {
		c := make([]int8, n, roomFor(n))
		for r := range c {
			c[r] = cNone
		}
		all[i] = c
		if studentCol < 0 && (l.Role == "student" || l.Kind == store.KindStudent) {
			studentCol = i
		}
	}
	var uncert []uint8 // made at the student's first probabilities
	counts := make([]int, len(labs))
	// One scan per labeler, in parallel: each fills its own column.
	errs := make([]error, len(labs))
	var wg sync.WaitGroup
	for i, l := range labs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			col := all[i]
			tick, flush := prog.counter()
			defer flush()
			errs[i] = st.ScanLabelerCells(ctx, l.ID, i == studentCol, func(pairID int64, code int, probs string) {
				tick()
				r := x.row(pairID)
				if r < 0 {
					return
				}
				col[r] = int8(code)
				counts[i]++
				if i == studentCol && probs != "" {
					if uncert == nil {
						uncert = make([]uint8, n, roomFor(n))
						for r := range uncert {
							uncert[r] = noProbs
						}
					}
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
	x.delta = make([]int8, n, roomFor(n))
	for r := range x.delta {
		x.delta[r] = x.disagreementOf(r)
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

// roomFor is the capacity the index's per-row arrays get for n rows: a
// sixteenth more, so that pairs added live append in place rather than
// copying every array (at ten million pairs a copy of them all costs a
// tick tens of milliseconds of Update).
func roomFor(n int) int { return n + n/16 + 64 }

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
	if x.pos == nil && g.ids[0] != x.minID+int64(start) || g.ids[n-1]-g.ids[0] != int64(n-1) {
		x.densePos() // the new ids leave a gap
	}
	for i, id := range g.ids {
		x.ids = append(x.ids, int32(id))
		x.dids = append(x.dids, int32(g.dids[i]))
		x.qix = append(x.qix, x.qdense[g.qids[i]])
	}
	x.maxPair = g.ids[n-1]
	if x.pos != nil {
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
	}
	for c := range x.cols {
		x.cols[c] = slices.Grow(x.cols[c], n)
		for range n {
			x.cols[c] = append(x.cols[c], cNone)
		}
	}
	x.delta = slices.Grow(x.delta, n)
	for range n {
		x.delta = append(x.delta, -1)
	}
	x.extendTitleKey()
	if x.uncert != nil {
		x.uncert = slices.Grow(x.uncert, n)
		for range n {
			x.uncert = append(x.uncert, noProbs)
		}
	}
}

// extendTitleKey gives the rows added since the title key was read the
// last key: they sort last until it is read again.
func (x *index) extendTitleKey() {
	if x.titleKey == nil {
		return
	}
	for len(x.titleKey) < len(x.ids) {
		x.titleKey = append(x.titleKey, x.titleKeys-1)
	}
}

// densePos makes the id → row table explicit (ids were without gaps).
func (x *index) densePos() {
	if x.pos != nil {
		return
	}
	x.pos = make([]int32, len(x.ids))
	for r := range x.pos {
		x.pos[r] = int32(r)
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
	x.delta[r] = x.disagreementOf(r)
	if ci == x.student && c.Probs != "" && x.uncert == nil {
		x.uncert = make([]uint8, len(x.ids), roomFor(len(x.ids)))
		for r := range x.uncert {
			x.uncert[r] = noProbs
		}
	}
	if ci == x.student && x.uncert != nil {
		x.uncert[r] = probUncertainty(c.Probs)
	}
	return true
}

// disagreement is the largest difference between any two grades of a row
// (-1: fewer than two grades, undefined).
func (x *index) disagreement(r int) int { return int(x.delta[r]) }

// disagreementOf computes disagreement from the grade columns.
func (x *index) disagreementOf(r int) int8 {
	lo, hi, n := int8(math.MaxInt8), int8(-1), 0
	for _, c := range x.cols {
		if v := c[r]; v >= 0 {
			lo, hi, n = min(lo, v), max(hi, v), n+1
		}
	}
	if n < 2 {
		return -1
	}
	return hi - lo
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

	// The rows shown, in order (rows of prevIdx, the index they were
	// computed from): every row in pair order when all is set (no search,
	// filter or sort: nothing to hold), else rows. spare is the other
	// buffer a sort writes into (two buffers of the size of the index,
	// allocated once).
	all     bool
	rows    []int32
	spare   []int32
	prevIdx *index
	prog    *loadProgress // the load under way (see loading)
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

	// For live refreshes that edit the rows in place (see browserows.go):
	// what the rows were computed for, the pair pinned there without
	// passing the filters (-1: none), and rows whose cells this annotator
	// changed since, with their keys in the rows.
	built   rowsSpec
	builtOK bool
	pinned  int32
	stale   map[int32]int32
}

func (b *browseState) init() {
	b.sortCol, b.gradeCol, b.pinned = -1, -1, -1
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
	b.prog = &loadProgress{}
	st, ctx, me, prog := m.st, m.ctx, m.me.ID, b.prog
	return tea.Batch(func() tea.Msg {
		x, err := buildIndex(ctx, st, me, prog)
		return indexMsg{idx: x, err: err}
	}, b.loadTickCmd(m))
}

// loadTickMsg redraws the loading screen's progress while the index loads.
type loadTickMsg struct{}

func (b *browseState) loadTickCmd(m *Model) tea.Cmd {
	if !m.ticks || !b.loading {
		return nil
	}
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return loadTickMsg{} })
}

// count is the number of rows shown.
func (b *browseState) count() int {
	if b.all {
		return b.prevIdx.n()
	}
	return len(b.rows)
}

// rowAt is the index row shown at position i (< count).
func (b *browseState) rowAt(i int) int32 {
	if b.all {
		return int32(i)
	}
	return b.rows[i]
}

// selected is the pair selected (false: no rows).
func (b *browseState) selected() (int64, bool) {
	if b.prevIdx == nil || b.cursor >= b.count() {
		return 0, false
	}
	return b.prevIdx.id(b.rowAt(b.cursor)), true
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
	case loadTickMsg:
		return b.loadTickCmd(m), true
	case indexMsg:
		b.loading = false
		b.prog = nil
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
		var edit *rowEdit
		if len(msg.cells) > 0 || msg.grow != nil {
			edit = b.takeOut(msg.cells) // before the changes: rows are found by their keys
		}
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
			if edit == nil || !b.putBack(m, edit) {
				b.refreshView(m)
			}
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
		if b.idx != nil && len(msg.key) <= b.idx.n() {
			b.idx.titleKey, b.idx.titleKeys = msg.key, msg.docs+1
			b.idx.extendTitleKey()
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
	b.noteStale(b.idx.row(c.PairID))
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
	n := x.n()
	selID, line := int64(-1), 0
	if id, ok := b.selected(); ok {
		selID, line = id, b.cursor-b.offset
	}
	b.prevIdx = x
	b.built, b.builtOK, b.pinned, b.stale = b.spec(), true, -1, nil
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
	gradeCol := b.gradeCol >= 0 && b.gradeCol < len(x.cols)
	b.all = sm == nil && !gradeCol && b.filter == fAll && b.sortCol < 0
	if !b.all {
		// Every row, then one tight pass per condition, each keeping the
		// rows that meet it (in place, in pair order).
		view := b.rows[:0]
		if cap(view) < n {
			view = make([]int32, 0, n+n/16)
		}
		view = view[:n]
		for r := range view {
			view[r] = int32(r)
		}
		if sm != nil {
			view = sm.keep(x, view, &b.inCount)
		}
		if gradeCol {
			view = keepCell(view, x.cols[b.gradeCol], int8(b.gradeVal))
		}
		view = b.keepFilter(m, view, cut)
		if sel := int32(x.row(selID)); pin && sel >= 0 {
			if i, found := slices.BinarySearch(view, sel); !found {
				view = slices.Insert(view, i, sel)
				b.pinned = sel
			}
		}
		if b.sortCol >= 0 {
			if out, ok := b.sorted(view); ok {
				b.spare, view = view, out
			}
		}
		b.rows = view
	}
	b.cursor = min(b.cursor, max(b.count()-1, 0))
	if r := int32(x.row(selID)); r >= 0 {
		if i := b.indexOf(r); i >= 0 {
			b.cursor = i
			b.offset = i - line
		}
	}
	b.clampOffset(m)
}

// indexOf is the position of row r among the rows shown (-1: not shown).
func (b *browseState) indexOf(r int32) int {
	switch {
	case b.all:
		return int(r)
	case b.sortCol < 0:
		if i, ok := slices.BinarySearch(b.rows, r); ok {
			return i
		}
		return -1
	}
	return slices.Index(b.rows, r)
}

// keepFilter keeps the rows the preset filter lets through.
func (b *browseState) keepFilter(m *Model, view []int32, cut uint8) []int32 {
	x := b.idx
	cols := x.cols
	switch b.filter {
	case fNotMine:
		if me, ok := x.colOf[m.me.ID]; ok {
			view = keepBelow(view, cols[me], 0)
		}
	case fTeacherStudent:
		if x.teacher < 0 || x.student < 0 {
			return view[:0]
		}
		t, s := cols[x.teacher], cols[x.student]
		out := view[:0]
		for _, r := range view {
			if a, c := t[r], s[r]; a >= 0 && c >= 0 && a != c {
				out = append(out, r)
			}
		}
		view = out
	case fModelHuman:
		var models, humans []int
		for i, l := range x.labs {
			if isModel(l) {
				models = append(models, i)
			} else {
				humans = append(humans, i)
			}
		}
		out := view[:0]
		for _, r := range view {
			if modelHumanDiffer(cols, models, humans, int(r)) {
				out = append(out, r)
			}
		}
		view = out
	case fDisagree2:
		view = keepAtLeast(view, x.delta, 2)
	case fUncertain:
		if x.uncert == nil {
			return view[:0]
		}
		out := view[:0]
		for _, r := range view {
			if u := x.uncert[r]; u >= cut && u != noProbs {
				out = append(out, r)
			}
		}
		view = out
	}
	return view
}

// keepCell keeps the rows whose cell in c is v.
func keepCell(view []int32, c []int8, v int8) []int32 {
	out := view[:0]
	for _, r := range view {
		if c[r] == v {
			out = append(out, r)
		}
	}
	return out
}

// keepBelow keeps the rows whose cell in c is below v.
func keepBelow(view []int32, c []int8, v int8) []int32 {
	out := view[:0]
	for _, r := range view {
		if c[r] < v {
			out = append(out, r)
		}
	}
	return out
}

// keepAtLeast keeps the rows whose cell in c is v or more.
func keepAtLeast(view []int32, c []int8, v int8) []int32 {
	out := view[:0]
	for _, r := range view {
		if c[r] >= v {
			out = append(out, r)
		}
	}
	return out
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

// Sort keys of a grade column (grades, then none, unsure, failed) and of
// the Δ column (undefined first), by the cell's byte.
var gradeOrder, deltaOrder [256]int32

func init() {
	for i := range 256 {
		v := int32(int8(uint8(i)))
		gradeOrder[i], deltaOrder[i] = v, v+1
		if v < 0 {
			gradeOrder[i] = 127 - v
		}
		if v < -1 {
			deltaOrder[i] = 0 // not a Δ value; kept in range
		}
	}
}

// sorted orders rows by the sort column with a stable counting sort into
// the spare buffer (false: no key to sort by yet).
func (b *browseState) sorted(rows []int32) ([]int32, bool) {
	x := b.idx
	out := b.spare
	if cap(out) < len(rows) {
		out = make([]int32, len(rows), cap(rows))
	}
	out = out[:len(rows)]
	switch {
	case b.sortCol == 0:
		sortByKey(rows, out, x.qrank, x.qix, int32(len(x.qrank)), b.sortDesc)
	case b.sortCol == 1:
		if x.titleKey == nil {
			return rows, false
		}
		sortByKey(rows, out, x.titleKey, nil, x.titleKeys, b.sortDesc)
	case b.sortCol-2 < len(x.cols):
		sortByCell(rows, out, x.cols[b.sortCol-2], &gradeOrder, 131, b.sortDesc)
	default:
		sortByCell(rows, out, x.delta, &deltaOrder, 130, b.sortDesc)
	}
	return out, true
}

// sortByCell writes rows into out in the order of order[c[r]] (k keys,
// reversed when desc), stable.
func sortByCell(rows, out []int32, c []int8, order *[256]int32, k int32, desc bool) {
	key := *order
	if desc {
		for i := range key {
			key[i] = k - 1 - key[i]
		}
	}
	var counts [257]int32
	for _, r := range rows {
		counts[key[uint8(c[r])]+1]++
	}
	for i := 1; i < len(counts); i++ {
		counts[i] += counts[i-1]
	}
	for _, r := range rows {
		kv := key[uint8(c[r])]
		out[counts[kv]] = r
		counts[kv]++
	}
}

// sortByKey writes rows into out in the order of keys[idx[r]] (keys[r]
// when idx is nil), k keys, reversed when desc, stable.
func sortByKey(rows, out []int32, keys, idx []int32, k int32, desc bool) {
	counts := make([]int32, k+1)
	if idx != nil {
		for _, r := range rows {
			counts[keys[idx[r]]+1]++
		}
	} else {
		for _, r := range rows {
			counts[keys[r]+1]++
		}
	}
	if desc {
		// Key v counts as k-1-v: reverse the counts, then sum.
		slices.Reverse(counts[1:])
	}
	for i := int32(1); i <= k; i++ {
		counts[i] += counts[i-1]
	}
	place := func(r, kv int32) {
		if desc {
			kv = k - 1 - kv
		}
		out[counts[kv]] = r
		counts[kv]++
	}
	if idx != nil {
		for _, r := range rows {
			place(r, keys[idx[r]])
		}
		return
	}
	for _, r := range rows {
		place(r, keys[r])
	}
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
	b.offset = max(min(b.offset, b.count()-h), 0)
}

// ensureTitles fetches the document titles of the rows around the window.
func (b *browseState) ensureTitles(m *Model) tea.Cmd {
	if b.idx == nil || b.titleInflight || m.screen != scrBrowse {
		return nil
	}
	h := b.tableHeight(m)
	lo, hi := max(b.offset-2*h, 0), min(b.offset+3*h, b.count())
	var need []int64
	seen := map[int64]bool{}
	for i := lo; i < hi; i++ {
		d := int64(b.idx.dids[b.rowAt(i)])
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
		if b.count() == 0 {
			return nil, true
		}
		// The selected row is graded and stays selected: moving on is
		// the annotator's j, so "j then a digit" grades the row j chose.
		r := b.rowAt(b.cursor)
		cmd := m.quickGrade(b.idx.id(r), g, b.idx)
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
		b.move(m, -b.count())
	case key.Matches(k, km.bBottom):
		b.move(m, b.count())
	case key.Matches(k, km.bOpen):
		if id, ok := b.selected(); ok {
			return m.openPair(id), true
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
		var hi int64
		for _, id := range order {
			hi = max(hi, id)
		}
		rank := make([]int32, hi+1) // by document id (ids fit in 4 bytes: see errIDRange)
		for i, id := range order {
			rank[id] = int32(i)
		}
		key := make([]int32, len(dids))
		for r, d := range dids {
			if int(d) < len(rank) {
				key[r] = rank[d]
			}
		}
		return titleKeyMsg{key: key, docs: int32(len(order))}
	}
}

// titleOf is the row's document title, "…" until it is read.
func (b *browseState) titleOf(r int) string {
	if t, ok := b.titles[int64(b.idx.dids[r])]; ok {
		return t
	}
	return "…"
}

func (b *browseState) move(m *Model, d int) {
	b.cursor = max(min(b.cursor+d, b.count()-1), 0)
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
		return []string{"", s.muted.Render("  " + b.loadingText(m))}
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
	count := fmt.Sprintf("%s of %s", words.Int(b.count()), words.Count(x.n(), "pair"))
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
	if b.count() == 0 {
		out = append(out, "", s.muted.Render("  "+b.emptyReason()))
		return out
	}
	sm := b.searching()
	for i := 0; i < th; i++ {
		vi := b.offset + i
		if vi >= b.count() {
			out = append(out, "")
			continue
		}
		r := int(b.rowAt(vi))
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

// loadingText says how far the index load is.
func (b *browseState) loadingText(m *Model) string {
	what := "every pair"
	if g := &m.grade; g.counted {
		what = "all " + words.Count(g.progress.Pairs, "pair")
	}
	return fmt.Sprintf("loading the table: %s read of %s and every labeler's grades… (grading works meanwhile: ctrl+g)",
		percent(b.prog.fraction()), what)
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
	if b.idx.n() == 0 {
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
