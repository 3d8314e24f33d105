// Package selection chooses which pairs an expensive teacher grades when the
// budget covers only some of them, so that the student trained on those
// grades learns the most:
//
//   - StudentUncertain: the pairs whose grade the current student is least
//     sure of (highest entropy of its grade distribution; ties by smaller
//     margin between its two most probable grades);
//   - Diverse: spread evenly over the queries and, within each query, over
//     the grades the student gives (round-robin over queries, then over
//     grade bins, random within a bin);
//   - Random: a uniform sample.
//
// It is pure: the caller supplies the candidates with the student's
// probabilities (pipeline.SelectPairs does so from a workspace).
package selection

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Strategies.
const (
	StudentUncertain = "student-uncertain"
	Diverse          = "diverse"
	Random           = "random"
)

// Strategies lists the names Select accepts.
func Strategies() []string { return []string{StudentUncertain, Diverse, Random} }

// Candidate is a pair the teacher could grade.
type Candidate struct {
	PairID int64
	Query  string
	Probs  []float64 // the student's grade distribution (StudentUncertain, Diverse)
	Grade  int       // the student's grade (Diverse)
}

// Select returns the ids of at most n candidates chosen by strategy,
// deterministically from seed; n <= 0 or n >= len(c) takes every one (in
// the order of the strategy).
func Select(c []Candidate, n int, strategy string, seed int64) ([]int64, error) {
	if n <= 0 || n > len(c) {
		n = len(c)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5e1ec7))
	idx := make([]int, len(c))
	for i := range idx {
		idx[i] = i
	}
	// A seeded shuffle first: ties of the strategies below fall randomly,
	// not in pair id order (which is often document order).
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	var order []int
	switch strategy {
	case Random:
		order = idx
	case StudentUncertain:
		ent := make([]float64, len(c))
		mar := make([]float64, len(c))
		for i, x := range c {
			if len(x.Probs) == 0 {
				return nil, fmt.Errorf("selection: candidate %d has no grade distribution", x.PairID)
			}
			ent[i], mar[i] = entropy(x.Probs), margin(x.Probs)
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case ent[a] > ent[b]:
				return -1
			case ent[a] < ent[b]:
				return 1
			case mar[a] < mar[b]:
				return -1
			case mar[a] > mar[b]:
				return 1
			}
			return 0
		})
		order = idx
	case Diverse:
		order = diverse(c, idx, n)
	default:
		return nil, fmt.Errorf("unknown selection %q (want %s)", strategy, strings.Join(Strategies(), ", "))
	}
	out := make([]int64, 0, n)
	for _, i := range order[:n] {
		out = append(out, c[i].PairID)
	}
	return out, nil
}

// diverse deals the (shuffled) candidates round-robin: each round visits
// every query that has candidates left, in a fixed shuffled order, and
// takes from each the next grade bin in its rotation that still has one.
func diverse(c []Candidate, shuffled []int, n int) []int {
	type bins struct {
		byGrade map[int][]int
		grades  []int // the grades present, in rotation order
		next    int
	}
	qs := map[string]*bins{}
	var qorder []string
	for _, i := range shuffled {
		q := qs[c[i].Query]
		if q == nil {
			q = &bins{byGrade: map[int][]int{}}
			qs[c[i].Query] = q
			qorder = append(qorder, c[i].Query)
		}
		g := c[i].Grade
		if _, ok := q.byGrade[g]; !ok {
			q.grades = append(q.grades, g)
		}
		q.byGrade[g] = append(q.byGrade[g], i)
	}
	for _, q := range qs {
		slices.Sort(q.grades)
		slices.Reverse(q.grades) // the likely relevant first: they are the rare ones
	}
	out := make([]int, 0, n)
	for len(out) < n {
		took := false
		for _, name := range qorder {
			q := qs[name]
			for tries := 0; tries < len(q.grades); tries++ {
				g := q.grades[q.next%len(q.grades)]
				q.next++
				if l := q.byGrade[g]; len(l) > 0 {
					out = append(out, l[0])
					q.byGrade[g] = l[1:]
					took = true
					break
				}
			}
			if len(out) == n {
				break
			}
		}
		if !took {
			break
		}
	}
	return out
}

func entropy(p []float64) float64 {
	h := 0.0
	for _, v := range p {
		if v > 0 {
			h -= v * math.Log(v)
		}
	}
	return h
}

// margin is the difference between the two largest probabilities.
func margin(p []float64) float64 {
	a, b := 0.0, 0.0
	for _, v := range p {
		switch {
		case v > a:
			a, b = v, a
		case v > b:
			b = v
		}
	}
	return a - b
}
