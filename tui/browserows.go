package tui

import (
	"cmp"
	"slices"

	"github.com/qrelbench/qrelbench/store"
)

// Live refreshes re-place only the rows that changed (issue 14): at ten
// million pairs a full re-filter and re-sort costs tens of milliseconds of
// Update, which a key pressed meanwhile waits for. The rows shown are
// sorted by (sort key, row): the counting sort in sorted is stable over
// rows in pair order. So a changed row can be found by binary search with
// the key it had, removed, tested against the filters again and inserted
// where the key it has now puts it, giving exactly what a full pass gives.

// rowsSpec is what the rows shown were computed for; an incremental update
// is only valid for the same one.
type rowsSpec struct {
	filter, sortCol, gradeCol, gradeVal int
	sortDesc, titled                    bool
}

func (b *browseState) spec() rowsSpec {
	s := rowsSpec{filter: b.filter, sortCol: b.sortCol, gradeCol: b.gradeCol, gradeVal: b.gradeVal, sortDesc: b.sortDesc}
	if b.idx != nil && b.sortCol == 1 {
		s.titled = b.idx.titleKey != nil
	}
	return s
}

// incremental reports whether the rows shown can be edited in place: a
// filtered or sorted list, no search (its matches are read in the
// background), computed from this index for the current filters and sort.
func (b *browseState) incremental() bool {
	return b.idx != nil && !b.all && b.prevIdx == b.idx && b.builtOK && b.built == b.spec() && b.searching() == nil
}

// rowKey is the key sorted orders a row by, as the counting sorts compute
// it (descending: reversed); rows of equal key are in pair order. Read
// the arrays at the call: grow may replace them.
func (b *browseState) rowKey() func(r int32) int32 {
	x := b.idx
	rev := func(k int32, f func(r int32) int32) func(r int32) int32 {
		if !b.sortDesc {
			return f
		}
		return func(r int32) int32 { return k - 1 - f(r) }
	}
	switch {
	case b.sortCol < 0 || b.sortCol == 1 && x.titleKey == nil:
		return func(int32) int32 { return 0 }
	case b.sortCol == 0:
		q, ix := x.qrank, x.qix
		return rev(int32(len(q)), func(r int32) int32 { return q[ix[r]] })
	case b.sortCol == 1:
		t := x.titleKey
		return rev(x.titleKeys, func(r int32) int32 { return t[r] })
	case b.sortCol-2 < len(x.cols):
		c := x.cols[b.sortCol-2]
		return rev(131, func(r int32) int32 { return gradeOrder[uint8(c[r])] })
	}
	d := x.delta
	return rev(130, func(r int32) int32 { return deltaOrder[uint8(d[r])] })
}

// findRow is where row r, of sort key k, is or would go in rows.
func findRow(rows []int32, key func(int32) int32, r, k int32) (int, bool) {
	return slices.BinarySearchFunc(rows, r, func(e, _ int32) int {
		if c := cmp.Compare(key(e), k); c != 0 {
			return c
		}
		return cmp.Compare(e, r)
	})
}

// noteStale records the key row r has in the rows shown before a cell of
// it changes without a recompute (this annotator's own grades), so that
// the next incremental update finds it.
func (b *browseState) noteStale(r int) {
	if r < 0 || !b.incremental() {
		return
	}
	if b.stale == nil {
		b.stale = map[int32]int32{}
	}
	if _, ok := b.stale[int32(r)]; !ok {
		b.stale[int32(r)] = b.rowKey()(int32(r))
	}
}

// rowEdit is an incremental update under way: the rows taken out of the
// list before the changes were applied, and the selection.
type rowEdit struct {
	dirty []int32 // existing rows to test again, ascending
	oldN  int     // rows in the index before new pairs: those from here are new
	selID int64
	line  int
}

// takeOut starts an incremental update for a refresh bringing cells (nil:
// a full pass is needed): it removes from the rows shown every row whose
// cells change, the pinned one and the selected one, by the keys they
// have now. Call before the changes are applied.
func (b *browseState) takeOut(cells []store.Cell) *rowEdit {
	if !b.incremental() {
		return nil
	}
	x := b.idx
	e := &rowEdit{oldN: x.n(), selID: -1}
	if id, ok := b.selected(); ok {
		e.selID, e.line = id, b.cursor-b.offset
		e.dirty = append(e.dirty, int32(x.row(id)))
	}
	if b.pinned >= 0 && int(b.pinned) < x.n() {
		e.dirty = append(e.dirty, b.pinned)
	}
	for r := range b.stale {
		e.dirty = append(e.dirty, r)
	}
	for _, c := range cells {
		if r := x.row(c.PairID); r >= 0 {
			e.dirty = append(e.dirty, int32(r))
		}
	}
	slices.Sort(e.dirty)
	e.dirty = slices.Compact(e.dirty)
	if len(e.dirty) > x.n()/16+64 {
		return nil // a full pass is as cheap
	}
	key := b.rowKey()
	if stale := b.stale; len(stale) > 0 {
		// A stale row sits where its old key put it: compare by that, for
		// the rows searched for and those met on the way.
		now := key
		key = func(r int32) int32 {
			if k, ok := stale[r]; ok {
				return k
			}
			return now(r)
		}
	}
	var at []int
	for _, r := range e.dirty {
		if i, found := findRow(b.rows, key, r, key(r)); found {
			at = append(at, i)
		}
	}
	slices.Sort(at)
	// Close the gaps left to right (memmove of the runs between them).
	if len(at) > 0 {
		rows, w := b.rows, at[0]
		for j, i := range at {
			end := len(rows)
			if j+1 < len(at) {
				end = at[j+1]
			}
			w += copy(rows[w:], rows[i+1:end])
		}
		b.rows = rows[:w]
	}
	b.stale = nil
	return e
}

// putBack finishes an incremental update after the changes were applied:
// the rows taken out and the new ones that pass the filters (and the
// selected pair, pinned as refreshView pins it) go in at their places.
// False when a full pass is needed after all (the uncertainty cut moved).
func (b *browseState) putBack(m *Model, e *rowEdit) bool {
	x := b.idx
	var cut uint8
	if b.filter == fUncertain {
		var withProbs int
		if cut, withProbs = x.uncertainCut(); cut != b.uncertainCut {
			return false
		}
		b.withProbs = withProbs
	}
	cand := slices.Clone(e.dirty)
	for r := e.oldN; r < x.n(); r++ {
		cand = append(cand, int32(r))
	}
	if b.gradeCol >= 0 && b.gradeCol < len(x.cols) {
		cand = keepCell(cand, x.cols[b.gradeCol], int8(b.gradeVal))
	}
	cand = b.keepFilter(m, cand, cut)
	b.pinned = -1
	sel := int32(x.row(e.selID))
	if sel >= 0 {
		if i, found := slices.BinarySearch(cand, sel); !found {
			cand = slices.Insert(cand, i, sel)
			b.pinned = sel
		}
	}
	key := b.rowKey()
	keys := make(map[int32]int32, len(cand))
	for _, r := range cand {
		keys[r] = key(r)
	}
	slices.SortFunc(cand, func(a, c int32) int {
		if d := cmp.Compare(keys[a], keys[c]); d != 0 {
			return d
		}
		return cmp.Compare(a, c)
	})
	// Merge into the spare buffer: runs of the old list between the places.
	n := len(b.rows) + len(cand)
	out := b.spare
	if cap(out) < n {
		out = make([]int32, 0, n+n/16)
	}
	out = out[:0]
	prev := 0
	for _, r := range cand {
		i, _ := findRow(b.rows, key, r, keys[r])
		out = append(out, b.rows[prev:i]...)
		out = append(out, r)
		prev = i
	}
	out = append(out, b.rows[prev:]...)
	b.spare, b.rows = b.rows, out
	b.cursor = min(b.cursor, max(b.count()-1, 0))
	if sel >= 0 {
		if i, found := findRow(b.rows, key, sel, keys[sel]); found {
			b.cursor = i
			b.offset = i - e.line
		}
	}
	b.clampOffset(m)
	return true
}
