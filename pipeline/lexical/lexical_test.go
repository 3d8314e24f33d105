package lexical

import (
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/features"
)

var scales = [][2]int{{0, 2}, {0, 3}, {0, 4}, {1, 5}}

func TestMonotoneInCoverage(t *testing.T) {
	queries := []string{
		"how does a bounty hunter make money",
		"what is a narwhal tusk made of",
		"best credit card for seniors with no annual fee",
	}
	for _, sc := range scales {
		for _, q := range queries {
			terms := []string{}
			for _, w := range features.Tokenize(q, nil) {
				if !features.IsStopword(w) {
					terms = append(terms, w)
				}
			}
			prevG, prevE := sc[0]-1, -1.0
			body := "some filler text about nothing in particular"
			for k := 0; k <= len(terms); k++ {
				if k > 0 {
					body += " filler " + terms[k-1]
				}
				p := features.Pair{Query: q, Body: body, BM25: float64(k), BM25Max: float64(len(terms)), BM25Rank: 1 + len(terms) - k, NCandidates: 10}
				g, e := Grade(p, sc[0], sc[1])
				if g < prevG || e < prevE {
					t.Fatalf("scale %v query %q: %d terms gives grade %d (%.3f), fewer gave %d (%.3f)", sc, q, k, g, e, prevG, prevE)
				}
				if g < sc[0] || g > sc[1] || e < float64(sc[0]) || e > float64(sc[1]) {
					t.Fatalf("out of scale %v: %d %.3f", sc, g, e)
				}
				prevG, prevE = g, e
			}
			if prevG != sc[1] && len(terms) > 0 {
				// all terms, top BM25: should at least be in the upper half
				if prevG < (sc[0]+sc[1]+1)/2 {
					t.Fatalf("scale %v query %q: full coverage only grade %d", sc, q, prevG)
				}
			}
		}
	}
}

func TestExtremesAndScales(t *testing.T) {
	best := features.Pair{Query: "corn mash", Title: "Corn mash", Body: "Corn mash is ground corn soaked in water.", BM25: 9, BM25Max: 9, BM25Rank: 1, NCandidates: 5}
	worst := features.Pair{Query: "corn mash", Title: "Weather", Body: "Rain tomorrow in the north.", BM25Rank: 0, NCandidates: 5}
	for _, sc := range scales {
		if g, e := Grade(best, sc[0], sc[1]); g != sc[1] || e != float64(sc[1]) {
			t.Errorf("scale %v: best gets %d %.3f", sc, g, e)
		}
		if g, e := Grade(worst, sc[0], sc[1]); g != sc[0] || e != float64(sc[0]) {
			t.Errorf("scale %v: worst gets %d %.3f", sc, g, e)
		}
	}
}

func TestBinEqualWidth(t *testing.T) {
	cases := []struct {
		s        float64
		min, max int
		want     int
	}{
		{0, 0, 3, 0}, {0.249, 0, 3, 0}, {0.25, 0, 3, 1}, {0.5, 0, 3, 2}, {0.74, 0, 3, 2}, {0.75, 0, 3, 3}, {1, 0, 3, 3},
		{0.33, 0, 2, 0}, {0.34, 0, 2, 1}, {0.67, 0, 2, 2},
		{0.19, 0, 4, 0}, {0.2, 0, 4, 1}, {0.99, 0, 4, 4},
		{-3, 0, 3, 0}, {7, 0, 3, 3},
	}
	for _, c := range cases {
		if g, _ := Bin(c.s, c.min, c.max); g != c.want {
			t.Errorf("Bin(%v, %d, %d) = %d, want %d", c.s, c.min, c.max, g, c.want)
		}
	}
	if _, e := Bin(0.5, 0, 4); e != 2 {
		t.Errorf("expected = %v", e)
	}
}

func TestDeterministic(t *testing.T) {
	p := features.Pair{Query: "how long do you blanch spinach", Body: strings.Repeat("Blanch spinach for 2 minutes. ", 3), BM25: 4, BM25Max: 6, BM25Rank: 2, NCandidates: 30}
	g0, e0 := Grade(p, 0, 3)
	for i := 0; i < 50; i++ {
		if g, e := Grade(p, 0, 3); g != g0 || e != e0 {
			t.Fatal("not deterministic")
		}
	}
	if Name != "lexical" || !strings.Contains(Description, "not a language model") {
		t.Fatal("name/description")
	}
}
