package benchmark

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// expand turns a contingency table of counts into two parallel gradings.
func expand(table [][]int, min int) (a, b []int) {
	for i, row := range table {
		for j, c := range row {
			for range c {
				a = append(a, min+i)
				b = append(b, min+j)
			}
		}
	}
	return a, b
}

// Cohen, J. (1960). A coefficient of agreement for nominal scales.
// Educational and Psychological Measurement 20(1), 37-46, Table 1: two
// judges, 200 cases, 3 categories, p_o = .70, p_c = .41, kappa = .492.
// (Cell proportions .44 .07 .09 / .05 .20 .05 / .01 .03 .06 with row
// marginals .60 .30 .10 and column marginals .50 .30 .20.)
func TestCohenKappaCohen1960(t *testing.T) {
	a, b := expand([][]int{{88, 14, 18}, {10, 40, 10}, {2, 6, 12}}, 1)
	k, ok := CohenKappa(a, b, 1, 3, Unweighted)
	if !ok {
		t.Fatal("kappa undefined")
	}
	if want := (0.70 - 0.41) / (1 - 0.41); !near(k, want, 1e-12) {
		t.Fatalf("kappa = %.15f, want %.15f", k, want)
	}
	if math.Round(k*1000)/1000 != 0.492 {
		t.Fatalf("kappa = %.4f, Cohen (1960) publishes .492", k)
	}
}

// Small cases computed by hand:
// a = 0 1 2 2, b = 0 2 2 1 on 0..2; rows = cols = (1, 1, 2), N = 4.
//
//	unweighted: po = .5, pe = 6/16, kappa = (.5-.375)/.625 = 0.2
//	linear:     sum w*O = 2, sum w*r*c = 14, kappa = 1 - 4*2/14 = 6/14
//	quadratic:  sum w*O = 2, sum w*r*c = 22, kappa = 1 - 4*2/22 = 14/22
func TestWeightedKappaByHand(t *testing.T) {
	a := []int{0, 1, 2, 2}
	b := []int{0, 2, 2, 1}
	for _, tc := range []struct {
		w    Weighting
		want float64
	}{{Unweighted, 0.2}, {Linear, 6.0 / 14}, {Quadratic, 14.0 / 22}} {
		got, ok := CohenKappa(a, b, 0, 2, tc.w)
		if !ok || !near(got, tc.want, 1e-12) {
			t.Errorf("%v kappa = %v (%v), want %v", tc.w, got, ok, tc.want)
		}
	}
	// Widening the scale with an unused grade changes nothing: unused
	// categories have zero marginals and the factor 1/(k-1) cancels.
	for _, w := range []Weighting{Unweighted, Linear, Quadratic} {
		k3, _ := CohenKappa(a, b, 0, 3, w)
		k2, _ := CohenKappa(a, b, 0, 2, w)
		if !near(k3, k2, 1e-12) {
			t.Errorf("%v: scale 0..3 gives %v, 0..2 gives %v", w, k3, k2)
		}
	}
}

// Quadratic weighted kappa equals an independent moment formula
// (Cohen 1968; Schuster 2004):
//
//	kappa_q = 2*s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)
//
// with population (1/n) moments.
func TestQuadraticKappaMomentIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 50; trial++ {
		n := 5 + rng.IntN(300)
		a := make([]int, n)
		b := make([]int, n)
		for i := range a {
			a[i] = rng.IntN(5)
			b[i] = max(0, min(4, a[i]+rng.IntN(3)-1+rng.IntN(2)))
		}
		got, ok := CohenKappa(a, b, 0, 4, Quadratic)
		var mx, my float64
		for i := range a {
			mx += float64(a[i])
			my += float64(b[i])
		}
		mx /= float64(n)
		my /= float64(n)
		var sxx, syy, sxy float64
		for i := range a {
			dx, dy := float64(a[i])-mx, float64(b[i])-my
			sxx += dx * dx
			syy += dy * dy
			sxy += dx * dy
		}
		sxx /= float64(n)
		syy /= float64(n)
		sxy /= float64(n)
		den := sxx + syy + (mx-my)*(mx-my)
		if den == 0 {
			if ok {
				t.Fatalf("trial %d: defined kappa %v with zero expected disagreement", trial, got)
			}
			continue
		}
		if want := 2 * sxy / den; !ok || !near(got, want, 1e-12) {
			t.Fatalf("trial %d: quadratic kappa %v, moment formula %v", trial, got, want)
		}
	}
}

// Unweighted and weighted kappa against a direct transcription of the
// textbook formula with normalised weights and proportions.
func TestKappaAgainstTextbookFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		k := 2 + rng.IntN(4)
		n := 1 + rng.IntN(200)
		a := make([]int, n)
		b := make([]int, n)
		for i := range a {
			a[i] = 1 + rng.IntN(k)
			b[i] = 1 + rng.IntN(k)
		}
		for _, w := range []Weighting{Unweighted, Linear, Quadratic} {
			O := make([][]float64, k)
			for i := range O {
				O[i] = make([]float64, k)
			}
			r := make([]float64, k)
			c := make([]float64, k)
			for i := range a {
				O[a[i]-1][b[i]-1] += 1 / float64(n)
				r[a[i]-1] += 1 / float64(n)
				c[b[i]-1] += 1 / float64(n)
			}
			var do, de float64
			for i := 0; i < k; i++ {
				for j := 0; j < k; j++ {
					d := math.Abs(float64(i - j))
					var wt float64
					switch w {
					case Unweighted:
						if i != j {
							wt = 1
						}
					case Linear:
						wt = d / float64(k-1)
					case Quadratic:
						wt = d * d / float64((k-1)*(k-1))
					}
					do += wt * O[i][j]
					de += wt * r[i] * c[j]
				}
			}
			got, ok := CohenKappa(a, b, 1, k, w)
			if de < 1e-12 {
				if ok {
					t.Fatalf("defined with zero expected disagreement")
				}
				continue
			}
			if want := 1 - do/de; !ok || !near(got, want, 1e-9) {
				t.Fatalf("trial %d %v: %v want %v", trial, w, got, want)
			}
		}
	}
}

func TestKappaPerfectAndUndefined(t *testing.T) {
	a := []int{0, 1, 2, 3, 3, 2}
	for _, w := range []Weighting{Unweighted, Linear, Quadratic} {
		if k, ok := CohenKappa(a, a, 0, 3, w); !ok || k != 1 {
			t.Errorf("%v perfect: %v %v", w, k, ok)
		}
		single := []int{2, 2, 2}
		if k, ok := CohenKappa(single, single, 0, 3, w); ok || k != 0 {
			t.Errorf("%v single class: %v %v, want undefined", w, k, ok)
		}
	}
	if _, ok := CohenKappa(nil, nil, 0, 3, Unweighted); ok {
		t.Error("empty input defined")
	}
	if _, ok := CohenKappa([]int{0, 4}, []int{0, 1}, 0, 3, Unweighted); ok {
		t.Error("grade outside the scale accepted")
	}
	if _, ok := CohenKappa([]int{0}, []int{0, 1}, 0, 3, Unweighted); ok {
		t.Error("length mismatch accepted")
	}
	// One rater constant, the other not: po = pe = .5, kappa = 0 exactly.
	if k, ok := CohenKappa([]int{1, 1, 1, 1}, []int{0, 1, 2, 1}, 0, 3, Unweighted); !ok || k != 0 {
		t.Errorf("constant rater: %v %v, want 0", k, ok)
	}
}

func TestAgreementMatrix(t *testing.T) {
	grades := map[string]map[string]int{
		"human": {"q1/a": 0, "q1/b": 1, "q1/c": 2, "q1/d": 2, "q2/a": 3},
		"llm":   {"q1/a": 0, "q1/b": 2, "q1/c": 2, "q1/d": 1},
		"const": {"q1/a": 1, "q1/b": 1},
		"other": {"zz": 1},
	}
	names, kappa, n := AgreementMatrix(grades, 0, 3)
	want := []string{"const", "human", "llm", "other"}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("names = %v", names)
		}
	}
	// human vs llm over q1/a..d is the hand case of TestWeightedKappaByHand.
	if n[1][2] != 4 || n[2][1] != 4 || !near(kappa[1][2], 0.2, 1e-12) || kappa[2][1] != kappa[1][2] {
		t.Errorf("human/llm: kappa %v n %v", kappa[1][2], n[1][2])
	}
	if n[1][1] != 5 || kappa[1][1] != 1 {
		t.Errorf("diagonal: %v %v", kappa[1][1], n[1][1])
	}
	if !math.IsNaN(kappa[0][0]) {
		t.Errorf("single-class labeler with itself should give NaN, got %v", kappa[0][0])
	}
	// const vs human over q1/a, q1/b: po = pe = 1/2, kappa = 0 (defined).
	if kappa[0][1] != 0 || n[0][1] != 2 {
		t.Errorf("const/human: %v over %d", kappa[0][1], n[0][1])
	}
	if n[3][1] != 0 || !math.IsNaN(kappa[3][1]) {
		t.Errorf("no overlap: %v %v", kappa[3][1], n[3][1])
	}
}
