package selection

import (
	"fmt"
	"slices"
	"testing"
)

func candidates() []Candidate {
	var c []Candidate
	id := int64(0)
	for q := range 4 {
		for i := range 40 {
			id++
			g := i % 4
			if q == 3 {
				g = 0 // a query the student grades all 0
			}
			p := []float64{0.97, 0.01, 0.01, 0.01} // confident
			if i%10 == 0 {
				p = []float64{0.25, 0.25, 0.25, 0.25} // the most uncertain
			} else if i%10 == 5 {
				p = []float64{0.5, 0.5, 0, 0} // uncertain between two
			}
			c = append(c, Candidate{PairID: id, Query: fmt.Sprintf("q%d", q), Probs: p, Grade: g})
		}
	}
	return c
}

func TestRandomIsSeededAndDistinct(t *testing.T) {
	c := candidates()
	a, _ := Select(c, 50, Random, 1)
	b, _ := Select(c, 50, Random, 1)
	d, _ := Select(c, 50, Random, 2)
	if !slices.Equal(a, b) || slices.Equal(a, d) || len(a) != 50 {
		t.Fatalf("seeded: %v / %v / %v", a[:5], b[:5], d[:5])
	}
	s := slices.Clone(a)
	slices.Sort(s)
	if len(slices.Compact(s)) != 50 {
		t.Fatal("a pair chosen twice")
	}
	all, _ := Select(c, 0, Random, 1)
	if len(all) != len(c) {
		t.Fatalf("n=0 took %d of %d", len(all), len(c))
	}
}

func TestStudentUncertainTakesTheHighestEntropy(t *testing.T) {
	c := candidates()
	got, err := Select(c, 20, StudentUncertain, 1)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Candidate{}
	for _, x := range c {
		byID[x.PairID] = x
	}
	// 16 uniform distributions (i%10 == 0), then 4 of the 16 two-way ties
	for k, id := range got {
		p := byID[id].Probs
		if k < 16 && p[0] != 0.25 || k >= 16 && p[0] != 0.5 {
			t.Fatalf("pick %d has probabilities %v", k, p)
		}
	}
	if _, err := Select([]Candidate{{PairID: 1}}, 1, StudentUncertain, 1); err == nil {
		t.Error("a candidate without probabilities accepted")
	}
}

func TestDiverseSpreadsOverQueriesAndGrades(t *testing.T) {
	c := candidates()
	got, err := Select(c, 16, Diverse, 3)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Candidate{}
	for _, x := range c {
		byID[x.PairID] = x
	}
	perQuery := map[string]int{}
	grades := map[string]map[int]bool{}
	for _, id := range got {
		x := byID[id]
		perQuery[x.Query]++
		if grades[x.Query] == nil {
			grades[x.Query] = map[int]bool{}
		}
		grades[x.Query][x.Grade] = true
	}
	for q := range 4 {
		name := fmt.Sprintf("q%d", q)
		if perQuery[name] != 4 {
			t.Errorf("%s got %d of 16 picks, want 4", name, perQuery[name])
		}
		if want := map[bool]int{true: 1, false: 4}[q == 3]; len(grades[name]) != want {
			t.Errorf("%s picks cover grades %v, want %d bins", name, grades[name], want)
		}
	}
	// more than there are: every candidate once
	all, _ := Select(c, 1000, Diverse, 3)
	if len(all) != len(c) {
		t.Fatalf("took %d of %d", len(all), len(c))
	}
	if _, err := Select(c, 1, "best", 1); err == nil {
		t.Error("unknown strategy accepted")
	}
}
