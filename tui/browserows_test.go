package tui

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// A live refresh edits the rows shown in place (takeOut, then the changes,
// then putBack). After random sequences of changed cells, new pairs (some
// on new queries), this annotator's own grades and cursor moves, under
// every filter × sort (and a grade filter), the rows, the selection and
// the screen position are what a full re-filter and re-sort gives.
func TestIncrementalRowsMatchFullPass(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice", Blind: false}, 160, 40)
	d.keys("2", "0")
	d.keys("tab")
	m := d.m
	b := &m.browse
	x := b.idx
	rng := rand.New(rand.NewSource(14))
	x.titleKeys = 21
	x.titleKey = make([]int32, x.n())
	for r := range x.titleKey {
		x.titleKey[r] = int32(rng.Intn(20))
	}
	var labIDs []int64
	for _, l := range x.labs {
		labIDs = append(labIDs, l.ID)
	}
	var qids []int64
	for id := range x.qdense {
		qids = append(qids, id)
	}
	slices.Sort(qids)
	randCell := func(pair int64) store.Cell {
		c := store.Cell{PairID: pair, LabelerID: labIDs[rng.Intn(len(labIDs))]}
		switch v := rng.Intn(7); {
		case v < 4:
			c.Status, c.Grade = store.StatusOK, v
			if rng.Intn(2) == 0 {
				p := rng.Intn(11)
				c.Probs = fmt.Sprintf("[%d.%d, 0.%d]", p/10, p%10, 10-p%10)
			}
		case v == 4:
			c.Status = store.StatusUnsure
		case v == 5:
			c.Status = "failed"
		}
		return c
	}
	full := func() (rows []int32, cursor, offset int) {
		saved, spare, pinned, stale := slices.Clone(b.rows), b.spare, b.pinned, b.stale
		cur, off, built := b.cursor, b.offset, b.built
		b.rows, b.spare = slices.Clone(b.rows), nil
		b.refreshView(m)
		for i := range b.count() {
			rows = append(rows, b.rowAt(i))
		}
		cursor, offset = b.cursor, b.offset
		b.rows, b.spare, b.pinned, b.stale = saved, spare, pinned, stale
		b.cursor, b.offset, b.built = cur, off, built
		return
	}
	edits := 0
	for fl := 0; fl < numFilters; fl++ {
		for col := -1; col < b.numCols(); col++ {
			for _, desc := range []bool{false, true} {
				for _, gradeCol := range []int{-1, 1} {
					b.filter, b.sortCol, b.sortDesc, b.gradeCol, b.gradeVal = fl, col, desc, gradeCol, rng.Intn(3)
					b.recompute(m)
					for step := 0; step < 8; step++ {
						if n := b.count(); n > 0 && rng.Intn(2) == 0 {
							b.cursor = rng.Intn(n) // the user moves: the pin goes
						}
						if rng.Intn(3) == 0 { // my own grade, shown before the refresh
							if id, ok := b.selected(); ok {
								b.applyMine(m, store.Judgment{PairID: id, LabelerID: m.me.ID, Grade: rng.Intn(4), Status: store.StatusOK})
							}
						}
						var g *growth
						if rng.Intn(2) == 0 {
							g = &growth{}
							for range 1 + rng.Intn(6) {
								id := x.maxPair + int64(len(g.ids)) + 1
								g.ids = append(g.ids, id)
								g.dids = append(g.dids, int64(rng.Intn(5)+1))
								g.qids = append(g.qids, qids[rng.Intn(len(qids))])
							}
							if rng.Intn(3) == 0 {
								q := x.maxQuery + 1
								g.queries = map[int64]string{q: fmt.Sprintf("query %c", 'a'+rng.Intn(26))}
								g.qrank = rankTexts(append(slices.Clone(x.qlow), g.queries[q]))
								g.qids[0] = q
								qids = append(qids, q)
							}
						}
						var cells []store.Cell
						for range rng.Intn(6) {
							n := int64(x.n())
							if g != nil {
								n += int64(len(g.ids))
							}
							cells = append(cells, randCell(x.minID+rng.Int63n(n)))
						}
						if len(cells) == 0 && g == nil {
							continue
						}
						edit := b.takeOut(cells)
						if g != nil {
							x.grow(g)
						}
						for _, c := range cells {
							x.apply(c)
						}
						if edit == nil || !b.putBack(m, edit) {
							b.refreshView(m)
						} else {
							edits++
						}
						wantRows, wantCur, wantOff := full()
						var got []int32
						for i := range b.count() {
							got = append(got, b.rowAt(i))
						}
						if !slices.Equal(got, wantRows) || b.cursor != wantCur || b.offset != wantOff {
							t.Fatalf("filter %s, sort %d desc %v, grade col %d, step %d:\nrows %v cursor %d offset %d\nwant %v cursor %d offset %d",
								filterNames[fl], col, desc, gradeCol, step, got, b.cursor, b.offset, wantRows, wantCur, wantOff)
						}
					}
				}
			}
		}
	}
	if edits < 500 {
		t.Fatalf("only %d refreshes were incremental", edits)
	}
}
