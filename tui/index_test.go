package tui

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/store"
)

// The first frame does not wait for the browse index or the counts: the
// Grade screen shows its pair and takes grades at once, the status line
// and Browse say what is still being read, and once the reads arrive both
// show the workspace as it is (the grade given meanwhile included).
func TestFirstFrameBeforeIndex(t *testing.T) {
	f := newFixture(t)
	m := newModel(context.Background(), f.st, Options{Annotator: "alice"})
	m.ticks = false
	d := &driver{t: t, m: m}
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	_, started := m.Update(m.bootCmd()()) // the index load and the counts: held back
	if m.grade.cur == nil || !strings.Contains(d.screen(), "reset vpn password") {
		t.Fatalf("no pair on the first frame:\n%s", d.screen())
	}
	if st := statusOf(d); !strings.Contains(st, "counting pairs…") {
		t.Fatalf("status before the counts: %q", st)
	}
	first := d.curPair()
	d.keys("2") // graded while nothing else is read yet
	if got := gradeOf(t, f.st, first, "human:alice"); got != 2 {
		t.Fatalf("grade saved during the load: %d", got)
	}
	d.keys("tab")
	if s := d.screen(); !strings.Contains(s, "loading the table: 0% read of every pair") {
		t.Fatalf("Browse while loading:\n%s", s)
	}
	d.keys("j", "f", "o") // no table yet: the keys do nothing harmful
	d.run(started)
	s := d.screen()
	if !strings.Contains(s, "6 of 6 pairs") || strings.Contains(s, "loading") {
		t.Fatalf("Browse after the load:\n%s", s)
	}
	if st := statusOf(d); !strings.Contains(st, "graded by me 1 · left 5") {
		t.Fatalf("status after the counts: %q", st)
	}
	r := d.m.browse.idx.row(first)
	if v := d.m.browse.idx.cols[d.m.browse.idx.colOf[d.m.me.ID]][r]; v != 2 {
		t.Fatalf("my grade in the table: %d", v)
	}
}

func gradeOf(t *testing.T, st *store.Store, pair int64, labeler string) int {
	t.Helper()
	var g int
	err := st.DB().QueryRow(`SELECT j.grade FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE j.pair_id = ? AND l.name = ?`, pair, labeler).Scan(&g)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The load reports its progress as it reads.
func TestIndexLoadProgress(t *testing.T) {
	f := newFixture(t)
	var p loadProgress
	x, err := buildIndex(context.Background(), f.st, 0, &p)
	if err != nil {
		t.Fatal(err)
	}
	// 6 pairs, then the teacher's 6 and the student's 6 grades.
	if p.done.Load() != 18 || p.total.Load() < 18 || x.n() != 6 {
		t.Fatalf("done %d of %d, %d pairs", p.done.Load(), p.total.Load(), x.n())
	}
}

// Pair ids with gaps (a pair removed) keep an explicit id → row table; the
// rows are the same pairs either way.
func TestIndexIDGaps(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x, err := buildIndex(ctx, f.st, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if x.pos != nil {
		t.Fatal("ids without gaps have an explicit table")
	}
	if _, err := f.st.DB().Exec(`DELETE FROM pairs WHERE id = ?`, f.pairs[2]); err != nil {
		t.Fatal(err)
	}
	x, err = buildIndex(ctx, f.st, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if x.pos == nil || x.n() != 5 {
		t.Fatalf("after a removal: pos %v, %d rows", x.pos != nil, x.n())
	}
	if x.row(f.pairs[2]) != -1 {
		t.Error("the removed pair has a row")
	}
	for _, id := range slices.Delete(slices.Clone(f.pairs), 2, 3) {
		if r := x.row(id); r < 0 || x.id(int32(r)) != id {
			t.Errorf("pair %d: row %d", id, r)
		}
	}
	// A new pair after the gap: the table grows with it.
	p := store.Pair{QueryID: 1, DocID: 3, Source: store.SourceBM25}
	if _, err := f.st.PutPair(ctx, &p); err != nil {
		t.Fatal(err)
	}
	g, err := readGrowth(ctx, f.st, x.maxPair, x.maxQuery, x.qlow)
	if err != nil {
		t.Fatal(err)
	}
	x.grow(g)
	if r := x.row(p.ID); r != 5 || x.id(5) != p.ID || x.delta[5] != -1 {
		t.Fatalf("grown pair %d at row %d", p.ID, r)
	}
}

// The counting sorts order as a stable sort by the same keys does, both
// ways.
func TestCountingSorts(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	n := 5000
	cells := make([]int8, n)
	for i := range cells {
		cells[i] = int8(rng.Intn(8) - 3) // grades 0–4, none, unsure, failed
	}
	deltas := make([]int8, n)
	for i := range deltas {
		deltas[i] = int8(rng.Intn(5) - 1) // undefined, 0–3
	}
	keys := make([]int32, 40)
	for i := range keys {
		keys[i] = int32(rng.Intn(len(keys)))
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(rng.Intn(len(keys)))
	}
	var rows []int32
	for r := 0; r < n; r++ {
		if rng.Intn(3) > 0 { // a filtered view
			rows = append(rows, int32(r))
		}
	}
	want := func(key func(r int32) int32, k int32, desc bool) []int32 {
		w := slices.Clone(rows)
		slices.SortStableFunc(w, func(a, b int32) int {
			ka, kb := key(a), key(b)
			if desc {
				ka, kb = k-1-ka, k-1-kb
			}
			return int(ka - kb)
		})
		return w
	}
	for _, desc := range []bool{false, true} {
		out := make([]int32, len(rows))
		sortByCell(rows, out, cells, &gradeOrder, 131, desc)
		if w := want(func(r int32) int32 { return gradeOrder[uint8(cells[r])] }, 131, desc); !slices.Equal(out, w) {
			t.Errorf("grade column, desc %v: differs", desc)
		}
		sortByCell(rows, out, deltas, &deltaOrder, 130, desc)
		if w := want(func(r int32) int32 { return int32(deltas[r]) + 1 }, 130, desc); !slices.Equal(out, w) {
			t.Errorf("Δ column, desc %v: differs", desc)
		}
		sortByKey(rows, out, keys, idx, int32(len(keys)), desc)
		if w := want(func(r int32) int32 { return keys[idx[r]] }, int32(len(keys)), desc); !slices.Equal(out, w) {
			t.Errorf("by query rank, desc %v: differs", desc)
		}
		direct := make([]int32, n)
		for r := range direct {
			direct[r] = keys[idx[r]]
		}
		sortByKey(rows, out, direct, nil, int32(len(keys)), desc)
		if w := want(func(r int32) int32 { return direct[r] }, int32(len(keys)), desc); !slices.Equal(out, w) {
			t.Errorf("by row key, desc %v: differs", desc)
		}
	}
	// Grades first (ascending), then none, unsure, failed.
	out := make([]int32, len(rows))
	sortByCell(rows, out, cells, &gradeOrder, 131, false)
	var seq []string
	for _, r := range out {
		if s := fmt.Sprint(cells[r]); len(seq) == 0 || seq[len(seq)-1] != s {
			seq = append(seq, s)
		}
	}
	if got := strings.Join(seq, " "); got != "0 1 2 3 4 -1 -2 -3" {
		t.Errorf("grade order: %s", got)
	}
}

// Every filter and sort gives the rows a plain pass over the pairs gives,
// the selection kept on the same pair.
func TestFilterSortAgainstPlainPass(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice", Blind: false}, 160, 40)
	d.keys("2", "0") // my grades on the first two pairs
	d.keys("tab")
	b := &d.m.browse
	x := b.idx
	for fl := 0; fl < numFilters; fl++ {
		for col := -1; col < b.numCols(); col++ {
			if col == 1 {
				continue // title: a key read in the background, see TestBrowse
			}
			for _, desc := range []bool{false, true} {
				b.filter, b.sortCol, b.sortDesc = fl, col, desc
				b.recompute(d.m)
				var want []int32
				for r := int32(0); r < int32(x.n()); r++ {
					if plainKeep(d.m, x, fl, r) {
						want = append(want, r)
					}
				}
				if col >= 0 {
					key := func(r int32) int {
						switch {
						case col == 0:
							return int(x.qrank[x.qix[r]])
						case col-2 < len(x.cols):
							if v := x.cols[col-2][r]; v >= 0 {
								return int(v)
							} else {
								return 127 - int(v)
							}
						}
						return int(x.disagreementOf(int(r))) + 1
					}
					slices.SortStableFunc(want, func(a, c int32) int {
						if desc {
							return key(c) - key(a)
						}
						return key(a) - key(c)
					})
				}
				var got []int32
				for i := range b.count() {
					got = append(got, b.rowAt(i))
				}
				if !slices.Equal(got, want) {
					t.Errorf("filter %s, sort %d desc %v: rows %v, want %v", filterNames[fl], col, desc, got, want)
				}
			}
		}
	}
}

func plainKeep(m *Model, x *index, fl int, r int32) bool {
	cols := x.cols
	switch fl {
	case fNotMine:
		me, ok := x.colOf[m.me.ID]
		return !ok || cols[me][r] < 0
	case fTeacherStudent:
		t, s := cols[x.teacher][r], cols[x.student][r]
		return t >= 0 && s >= 0 && t != s
	case fModelHuman:
		for i, h := range x.labs {
			if isModel(h) || cols[i][r] < 0 {
				continue
			}
			for j, l := range x.labs {
				if isModel(l) && cols[j][r] >= 0 && cols[j][r] != cols[i][r] {
					return true
				}
			}
		}
		return false
	case fDisagree2:
		return x.disagreementOf(int(r)) >= 2
	case fUncertain:
		cut, _ := x.uncertainCut()
		return x.uncert != nil && x.uncert[r] != noProbs && x.uncert[r] >= cut
	}
	return true
}
