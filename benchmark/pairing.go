package benchmark

import (
	"context"
	"slices"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

// pairing reads what Evaluate compares, for a million pairs and more in a
// second or so: each pair's query and document external ids, and each
// labeler's ok grades, in dense arrays indexed by pair id (no per-pair map,
// no join or sort in SQL).
type pairing struct {
	lo        int64    // smallest pair id
	query     []int32  // by pair id - lo: index into queryExt, -1 where there is no pair
	doc       []int32  // by pair id - lo: index into docExt
	queryExt  []string // external query ids
	docExt    []string
	queryRank []int32 // position of each query in external id order
	allowed   []bool  // by query index: selected by --query (all when no filter)
}

// grades is one labeler's ok grades by pair id - lo (grade -1: none).
type grades struct {
	grade  []int8
	exp    []float64
	hasExp []bool
	n      int
}

func loadPairing(ctx context.Context, st *store.Store, queries []string) (*pairing, error) {
	p := &pairing{}
	qIdx, err := extIndex(ctx, st, "queries", &p.queryExt)
	if err != nil {
		return nil, err
	}
	dIdx, err := extIndex(ctx, st, "documents", &p.docExt)
	if err != nil {
		return nil, err
	}
	first := true
	err = st.ScanPairIDs(ctx, 0, func(id, queryID, docID int64) {
		if first {
			p.lo, first = id, false
		}
		for int64(len(p.query)) < id-p.lo {
			p.query = append(p.query, -1)
			p.doc = append(p.doc, -1)
		}
		p.query = append(p.query, qIdx.at(queryID))
		p.doc = append(p.doc, dIdx.at(docID))
	})
	if err != nil {
		return nil, err
	}
	order := make([]int32, len(p.queryExt))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(p.queryExt[a], p.queryExt[b]) })
	p.queryRank = make([]int32, len(order))
	for r, i := range order {
		p.queryRank[i] = int32(r)
	}
	p.allowed = make([]bool, len(p.queryExt))
	want := map[string]bool{}
	for _, q := range queries {
		want[q] = true
	}
	for i, ext := range p.queryExt {
		p.allowed[i] = len(want) == 0 || want[ext]
	}
	return p, nil
}

// denseIndex maps internal ids to positions in an external id slice.
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

func extIndex(ctx context.Context, st *store.Store, table string, exts *[]string) (denseIndex, error) {
	var d denseIndex
	first := true
	err := st.ScanExtIDs(ctx, table, func(id int64, ext string) {
		if first {
			d.lo, first = id, false
		}
		for int64(len(d.pos)) < id-d.lo {
			d.pos = append(d.pos, -1)
		}
		d.pos = append(d.pos, int32(len(*exts)))
		*exts = append(*exts, ext)
	})
	return d, err
}

// load reads a labeler's ok grades on the selected queries' pairs.
func (p *pairing) load(ctx context.Context, st *store.Store, labelerID int64) (grades, error) {
	g := grades{grade: make([]int8, len(p.query)), exp: make([]float64, len(p.query)), hasExp: make([]bool, len(p.query))}
	for i := range g.grade {
		g.grade[i] = -1
	}
	err := st.ScanOKGrades(ctx, labelerID, func(pairID int64, grade int, expected float64, hasExp bool) {
		i := pairID - p.lo
		if i < 0 || i >= int64(len(p.query)) || p.query[i] < 0 || !p.allowed[p.query[i]] {
			return
		}
		g.grade[i], g.exp[i], g.hasExp[i] = int8(grade), expected, hasExp
		g.n++
	})
	return g, err
}

// items pairs a labeler's grades with the reference's, ordered by query
// external id then document external id (the bootstrap resamples queries
// in item order, so the order makes the intervals reproducible).
func (p *pairing) items(ref, got grades) []Item {
	perQuery := make([]int32, len(p.queryExt)+1)
	n := 0
	for i, r := range ref.grade {
		if r >= 0 && got.grade[i] >= 0 {
			perQuery[p.queryRank[p.query[i]]+1]++
			n++
		}
	}
	for r := 1; r < len(perQuery); r++ {
		perQuery[r] += perQuery[r-1]
	}
	items := make([]Item, n)
	next := slices.Clone(perQuery[:len(perQuery)-1])
	for i, r := range ref.grade {
		g := got.grade[i]
		if r < 0 || g < 0 {
			continue
		}
		score := float64(g)
		if got.hasExp[i] {
			score = got.exp[i]
		}
		k := &next[p.queryRank[p.query[i]]]
		items[*k] = Item{Query: p.queryExt[p.query[i]], Doc: p.docExt[p.doc[i]], Ref: int(r), Got: int(g), Score: score}
		*k++
	}
	for r := 0; r+1 < len(perQuery); r++ {
		q := items[perQuery[r]:perQuery[r+1]]
		slices.SortFunc(q, func(a, b Item) int { return strings.Compare(a.Doc, b.Doc) })
	}
	return items
}
