package student

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// TreeNode is one node of a regression tree. A leaf has Feat < 0 and adds
// Value; an inner node sends x left when x[Feat] <= Thr (or when x has no
// feature Feat), else right.
type TreeNode struct {
	Feat  int32   `json:"f"`
	Thr   float64 `json:"t,omitempty"`
	Left  int32   `json:"l,omitempty"`
	Right int32   `json:"r,omitempty"`
	Value float64 `json:"v,omitempty"`
}

// Ensemble is a sum of regression trees: Score(x) = Base + Σ tree(x).
type Ensemble struct {
	Base  float64    `json:"base"`
	Nodes []TreeNode `json:"nodes"`
	Roots []int32    `json:"roots"` // index of each tree's root in Nodes
}

// Score returns the ensemble's prediction for x.
func (e *Ensemble) Score(x []float64) float64 {
	s := e.Base
	for _, r := range e.Roots {
		s += e.tree(r, x)
	}
	return s
}

func (e *Ensemble) tree(i int32, x []float64) float64 {
	for {
		n := &e.Nodes[i]
		if n.Feat < 0 {
			return n.Value
		}
		if int(n.Feat) >= len(x) || x[n.Feat] <= n.Thr {
			i = n.Left
		} else {
			i = n.Right
		}
	}
}

func (e *Ensemble) finite() bool {
	if e == nil {
		return true
	}
	if !finite([]float64{e.Base}) {
		return false
	}
	for _, n := range e.Nodes {
		if !finite([]float64{n.Thr, n.Value}) {
			return false
		}
	}
	return true
}

// validate checks that every tree is well formed: children come after their
// parent (so walks end) and inner nodes use one of the d features.
func (e *Ensemble) validate(d int) error {
	if len(e.Roots) == 0 {
		return errors.New("student: ensemble has no trees")
	}
	if !e.finite() {
		return errors.New("student: ensemble has non-finite parameters")
	}
	for _, r := range e.Roots {
		if r < 0 || int(r) >= len(e.Nodes) {
			return fmt.Errorf("student: tree root %d out of range", r)
		}
	}
	for i, n := range e.Nodes {
		if n.Feat < 0 {
			continue
		}
		switch {
		case int(n.Feat) >= d:
			return fmt.Errorf("student: tree node %d uses feature %d of %d", i, n.Feat, d)
		case int(n.Left) <= i || int(n.Right) <= i || int(n.Left) >= len(e.Nodes) || int(n.Right) >= len(e.Nodes):
			return fmt.Errorf("student: tree node %d has bad children", i)
		}
	}
	return nil
}

type gbtParams struct {
	trees, depth, minLeaf, bins int
	shrink, subsample, lambda   float64
	seed                        int64
}

// fitGBT fits least-squares gradient-boosted trees of y on the rows X with
// example weights w. Features are binned once into at most p.bins quantile
// bins and splits are searched over bin edges (histogram boosting); leaf
// values are shrunk sums r/(w+lambda). The effective minimum leaf size is
// min(p.minLeaf, n/20) (at least 1) so small data can still split.
func fitGBT(X [][]float64, y, w []float64, p gbtParams) *Ensemble {
	n, d := len(X), len(X[0])
	minLeaf := max(1, min(p.minLeaf, n/20))
	edges := make([][]float64, d)
	bin := make([][]uint8, d)
	col := make([]float64, n)
	for j := 0; j < d; j++ {
		for i := range X {
			col[i] = X[i][j]
		}
		s := slices.Clone(col)
		slices.Sort(s)
		s = slices.Compact(s)
		var e []float64
		if len(s) <= p.bins {
			for k := 0; k+1 < len(s); k++ {
				e = append(e, s[k]+(s[k+1]-s[k])/2)
			}
		} else {
			for k := 1; k < p.bins; k++ {
				at := k * len(s) / p.bins
				c := s[at-1] + (s[at]-s[at-1])/2
				if len(e) == 0 || c > e[len(e)-1] {
					e = append(e, c)
				}
			}
		}
		edges[j] = e
		b := make([]uint8, n)
		for i, v := range col {
			k, _ := slices.BinarySearch(e, v) // v <= e[k], v > e[k-1]
			b[i] = uint8(k)
		}
		bin[j] = b
	}

	ws, base := 0.0, 0.0
	for i := range y {
		ws += w[i]
		base += w[i] * y[i]
	}
	base /= ws
	ens := &Ensemble{Base: base}
	pred := make([]float64, n)
	for i := range pred {
		pred[i] = base
	}
	res := make([]float64, n)
	idx := make([]int32, n)
	hw := make([]float64, p.bins+1)
	hr := make([]float64, p.bins+1)
	hc := make([]int, p.bins+1)
	rng := uint64(p.seed)*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D

	var grow func(rows []int32, depth int) int32
	grow = func(rows []int32, depth int) int32 {
		sw, sr := 0.0, 0.0
		for _, i := range rows {
			sw += w[i]
			sr += w[i] * res[i]
		}
		me := int32(len(ens.Nodes))
		ens.Nodes = append(ens.Nodes, TreeNode{Feat: -1, Value: p.shrink * sr / (sw + p.lambda)})
		if depth >= p.depth || len(rows) < 2*minLeaf {
			return me
		}
		bestGain, bestF, bestB := 1e-12, -1, 0
		parent := sr * sr / (sw + p.lambda)
		for j := 0; j < d; j++ {
			nb := len(edges[j]) + 1
			if nb < 2 {
				continue
			}
			clear(hw[:nb])
			clear(hr[:nb])
			clear(hc[:nb])
			bj := bin[j]
			for _, i := range rows {
				k := bj[i]
				hw[k] += w[i]
				hr[k] += w[i] * res[i]
				hc[k]++
			}
			lw, lr, lc := 0.0, 0.0, 0
			for k := 0; k < nb-1; k++ {
				lw += hw[k]
				lr += hr[k]
				lc += hc[k]
				if lc < minLeaf {
					continue
				}
				if len(rows)-lc < minLeaf {
					break
				}
				rw, rr := sw-lw, sr-lr
				if g := lr*lr/(lw+p.lambda) + rr*rr/(rw+p.lambda) - parent; g > bestGain {
					bestGain, bestF, bestB = g, j, k
				}
			}
		}
		if bestF < 0 {
			return me
		}
		bj := bin[bestF]
		l := 0
		for r := range rows {
			if int(bj[rows[r]]) <= bestB {
				rows[l], rows[r] = rows[r], rows[l]
				l++
			}
		}
		left := grow(rows[:l], depth+1)
		right := grow(rows[l:], depth+1)
		ens.Nodes[me] = TreeNode{Feat: int32(bestF), Thr: edges[bestF][bestB], Left: left, Right: right}
		return me
	}

	for t := 0; t < p.trees; t++ {
		for i := range res {
			res[i] = y[i] - pred[i]
		}
		m := 0
		for i := range idx {
			if p.subsample < 1 {
				rng ^= rng << 13
				rng ^= rng >> 7
				rng ^= rng << 17
				if float64(rng>>11)/(1<<53) >= p.subsample {
					continue
				}
			}
			idx[m] = int32(i)
			m++
		}
		if m == 0 {
			continue
		}
		root := grow(idx[:m], 0)
		ens.Roots = append(ens.Roots, root)
		for i := range pred {
			pred[i] += ens.tree(root, X[i])
		}
	}
	if math.IsNaN(ens.Base) {
		ens.Base = 0
	}
	return ens
}
