package benchmark

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/qrelbench/qrelbench/store"
)

// pairing reads what Evaluate compares, for a million pairs and more in a
// second or so: each pair's query and document, and each labeler's ok
// grades, in dense arrays indexed by pair id (no per-pair map, no join or
// sort in SQL). The pairs, the external ids and the first labelers' grades
// are read at the same time, on a core each.
type pairing struct {
	lo       int64    // smallest pair id
	query    []int32  // by pair id - lo: the query's rank in queryExt, -1 where there is no pair
	doc      []int32  // by pair id - lo: the document's rank in docExt
	queryExt []string // external query ids, in increasing order
	docExt   []string // external document ids, in increasing order
	allowed  []bool   // by query rank: selected by --query (all when no filter)
	order    []int32  // see sortPairs
	qstart   []int32
}

// grades is one labeler's ok grades by pair id - lo (grade -1: none).
type grades struct {
	grade []int8
	exp   []float64 // expected grades, NaN where there is none; nil when the labeler gives none
	once  *sync.Once
	n     int
}

// loadPairing reads the pairs and the grades of labelerIDs.
func loadPairing(ctx context.Context, st *store.Store, queries []string, labelerIDs []int64) (*pairing, []grades, error) {
	p := &pairing{}
	lo, hi, err := st.PairIDRange(ctx)
	if err != nil {
		return nil, nil, err
	}
	p.lo = lo
	p.query = make([]int32, hi-lo+1)
	p.doc = make([]int32, hi-lo+1)
	for i := range p.query {
		p.query[i], p.doc[i] = -1, -1
	}
	var gs []grades
	var pairsErr, gradesErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		qIdx, err := extIndex(ctx, st, "queries", &p.queryExt)
		if err != nil {
			pairsErr = err
			return
		}
		dIdx, err := extIndex(ctx, st, "documents", &p.docExt)
		if err != nil {
			pairsErr = err
			return
		}
		// Called concurrently: each call writes its own pair's slots.
		pairsErr = st.ScanPairsParallel(ctx, func(id, queryID, docID int64) {
			if i := id - p.lo; i >= 0 && i < int64(len(p.query)) {
				p.query[i], p.doc[i] = qIdx.at(queryID), dIdx.at(docID)
			}
		})
	})
	wg.Go(func() { gs, gradesErr = p.scan(ctx, st, labelerIDs) })
	wg.Wait()
	if pairsErr != nil {
		return nil, nil, pairsErr
	}
	if gradesErr != nil {
		return nil, nil, gradesErr
	}
	want := map[string]bool{}
	for _, q := range queries {
		want[q] = true
	}
	p.allowed = make([]bool, len(p.queryExt))
	for r, ext := range p.queryExt {
		p.allowed[r] = len(want) == 0 || want[ext]
	}
	p.keep(gs)
	return p, gs, nil
}

// denseIndex maps internal ids to ranks of external ids.
type denseIndex struct {
	lo  int64
	pos []int32
}

func (d denseIndex) at(id int64) int32 {
	if id < d.lo || id-d.lo >= int64(len(d.pos)) {
		return -1
	}
	return d.pos[id-d.lo]
}

// extIndex reads a table's external ids into exts, in increasing order,
// and returns where each internal id's external id is in it.
func extIndex(ctx context.Context, st *store.Store, table string, exts *[]string) (denseIndex, error) {
	var ids []int64
	sorted, err := st.ScanExtIDs(ctx, table, func(id int64, ext string) {
		ids = append(ids, id)
		*exts = append(*exts, ext)
	})
	if err != nil || len(ids) == 0 {
		return denseIndex{}, err
	}
	if !sorted {
		order := make([]int, len(ids))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare((*exts)[a], (*exts)[b]) })
		sortedIDs, sortedExts := make([]int64, len(ids)), make([]string, len(ids))
		for r, i := range order {
			sortedIDs[r], sortedExts[r] = ids[i], (*exts)[i]
		}
		ids, *exts = sortedIDs, sortedExts
	}
	d := denseIndex{lo: slices.Min(ids)}
	d.pos = make([]int32, slices.Max(ids)-d.lo+1)
	for i := range d.pos {
		d.pos[i] = -1
	}
	for r, id := range ids {
		d.pos[id-d.lo] = int32(r)
	}
	return d, nil
}

// load reads the labelers' ok grades on the selected queries' pairs, in
// one scan for all of them.
func (p *pairing) load(ctx context.Context, st *store.Store, labelerIDs []int64) ([]grades, error) {
	gs, err := p.scan(ctx, st, labelerIDs)
	if err != nil {
		return nil, err
	}
	p.keep(gs)
	return gs, nil
}

// scan reads the labelers' ok grades on every pair.
func (p *pairing) scan(ctx context.Context, st *store.Store, labelerIDs []int64) ([]grades, error) {
	gs := make([]grades, len(labelerIDs))
	for l := range gs {
		gs[l] = grades{grade: make([]int8, len(p.query)), once: new(sync.Once)}
		for i := range gs[l].grade {
			gs[l].grade[i] = -1
		}
	}
	// Called concurrently: each call writes its own (labeler, pair) slot,
	// and the expected grades of a labeler that has them are allocated
	// once, by the first call that needs them (most labelers have none, and
	// at 10M pairs they take 80 MB each).
	err := st.ScanOKGrades(ctx, labelerIDs, func(l int, pairID int64, grade int, expected float64, hasExp bool) {
		i := pairID - p.lo
		if i < 0 || i >= int64(len(p.query)) {
			return
		}
		g := &gs[l]
		g.grade[i] = int8(grade)
		if hasExp {
			g.once.Do(func() {
				g.exp = make([]float64, len(p.query))
				for j := range g.exp {
					g.exp[j] = math.NaN()
				}
			})
			g.exp[i] = expected
		}
	})
	return gs, err
}

// keep drops the grades of pairs that are not there (a judgment read
// before its pair was) or not selected, and counts the rest.
func (p *pairing) keep(gs []grades) {
	for l := range gs {
		g := &gs[l]
		for i, q := range p.query {
			if g.grade[i] >= 0 && (q < 0 || p.doc[i] < 0 || !p.allowed[q]) {
				g.grade[i] = -1
			}
			if g.grade[i] >= 0 {
				g.n++
			}
		}
	}
}

// order lists the pairs of the selected queries (as pair id - lo) by query
// external id, then document external id, the order the metrics are
// computed in; qstart[r] is where the query of rank r begins. It is the
// same for every labeler, so it is computed once.
func (p *pairing) sortPairs() {
	if p.order != nil {
		return
	}
	p.qstart = make([]int32, len(p.queryExt)+1)
	for i, q := range p.query {
		if q >= 0 && p.doc[i] >= 0 && p.allowed[q] {
			p.qstart[q+1]++
		}
	}
	for r := 1; r < len(p.qstart); r++ {
		p.qstart[r] += p.qstart[r-1]
	}
	p.order = make([]int32, p.qstart[len(p.qstart)-1])
	next := slices.Clone(p.qstart[:len(p.qstart)-1])
	for i, q := range p.query {
		if q >= 0 && p.doc[i] >= 0 && p.allowed[q] {
			k := &next[q]
			p.order[*k] = int32(i)
			*k++
		}
	}
	// Within a query, by document: keys of document rank and pair, sorted
	// as integers.
	parallelFor(len(p.qstart)-1, func() *[]uint64 { return new([]uint64) }, func(buf *[]uint64, r int) error {
		seg := p.order[p.qstart[r]:p.qstart[r+1]]
		keys := (*buf)[:0]
		for _, i := range seg {
			keys = append(keys, uint64(p.doc[i])<<32|uint64(uint32(i)))
		}
		slices.Sort(keys)
		for j, key := range keys {
			seg[j] = int32(uint32(key))
		}
		*buf = keys
		return nil
	})
}

// grouped pairs a labeler's grades with the reference's, in the order of
// sortPairs, for computeGrouped; n is the number of items.
func (p *pairing) grouped(ref, got grades, opt Options) (grouped, error) {
	p.sortPairs()
	n := 0
	for _, i := range p.order {
		if ref.grade[i] >= 0 && got.grade[i] >= 0 {
			n++
		}
	}
	g := grouped{start: []int32{0}, ref: make([]uint8, 0, n), got: make([]uint8, 0, n), score: make([]float64, 0, n)}
	for r := 0; r+1 < len(p.qstart); r++ {
		for _, i := range p.order[p.qstart[r]:p.qstart[r+1]] {
			rg, gg := int(ref.grade[i]), int(got.grade[i])
			if rg < 0 || gg < 0 {
				continue
			}
			score := float64(gg)
			if got.exp != nil && !math.IsNaN(got.exp[i]) {
				score = got.exp[i]
			}
			if err := checkItem(len(g.ref), p.queryExt[p.query[i]], p.docExt[p.doc[i]], rg, gg, score, opt); err != nil {
				return g, err
			}
			g.ref = append(g.ref, uint8(rg-opt.MinGrade))
			g.got = append(g.got, uint8(gg-opt.MinGrade))
			g.score = append(g.score, score)
		}
		if int(g.start[len(g.start)-1]) < len(g.ref) {
			g.start = append(g.start, int32(len(g.ref)))
		}
	}
	return g, nil
}
