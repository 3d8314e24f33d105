package syseval

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// evalOne scores one system's ranking of one query.
func evalOne(t *testing.T, ranked []Scored, grades map[string]int, o Options) map[string]float64 {
	t.Helper()
	res, err := Evaluate([]Run{{System: "s", Ranked: map[string][]Scored{"q": ranked}}}, Qrels{"q": grades}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Queries != 1 {
		t.Fatalf("queries = %d, want 1", res[0].Queries)
	}
	return res[0].PerQuery["q"]
}

func TestTiesBrokenByDocIDDescendingStringCompare(t *testing.T) {
	// Equal scores: trec_eval puts the larger docid (strcmp) first, so
	// "p9" comes before "p10" (a numeric compare would do the opposite)
	// and "b" before "a". Only the second-placed doc is relevant each time.
	cases := []struct {
		ranked []Scored
		grades map[string]int
	}{
		{[]Scored{{"a", 1}, {"b", 1}}, map[string]int{"a": 3, "b": 0}},
		{[]Scored{{"p10", 5}, {"p9", 5}}, map[string]int{"p10": 2}},
	}
	for _, c := range cases {
		v := evalOne(t, c.ranked, c.grades, Options{Threshold: 1})
		if !near(v[MeasureRecipRank], 0.5) {
			t.Errorf("%v: recip_rank = %v, want 0.5 (tie broken by docid descending)", c.ranked, v[MeasureRecipRank])
		}
	}
	// A higher score still wins over the docid.
	v := evalOne(t, []Scored{{"a", 2}, {"b", 1}}, map[string]int{"a": 3}, Options{Threshold: 1})
	if !near(v[MeasureRecipRank], 1) {
		t.Errorf("recip_rank = %v, want 1 (score first)", v[MeasureRecipRank])
	}
}

func TestInputOrderAndRankColumnIgnored(t *testing.T) {
	// The run lists documents in "rank" order d1..d4, which disagrees with
	// the scores; only the scores count.
	ranked := []Scored{{"d1", 0.1}, {"d2", 0.2}, {"d3", 0.9}, {"d4", 0.5}}
	grades := map[string]int{"d3": 2, "d1": 1}
	v := evalOne(t, ranked, grades, Options{Threshold: 2})
	if !near(v[MeasureRecipRank], 1) {
		t.Errorf("recip_rank = %v, want 1: d3 has the top score", v[MeasureRecipRank])
	}
	rev := slices.Clone(ranked)
	slices.Reverse(rev)
	if w := evalOne(t, rev, grades, Options{Threshold: 2}); !mapsNear(v, w) {
		t.Errorf("input order changed the values: %v vs %v", v, w)
	}
	got := TopK(ranked, 3)
	want := []Scored{{"d3", 0.9}, {"d4", 0.5}, {"d2", 0.2}}
	if !slices.Equal(got, want) {
		t.Errorf("TopK = %v, want %v", got, want)
	}
	if ranked[0].Doc != "d1" {
		t.Error("TopK modified its input")
	}
	if TopK(ranked, 0) != nil || len(TopK(ranked, 10)) != 4 {
		t.Error("TopK bounds wrong")
	}
}

func mapsNear(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !near(v, w) {
			return false
		}
	}
	return true
}

func TestUnjudgedAreNonRelevant(t *testing.T) {
	// x and y are unjudged (absent from the qrels) and ranked first; r is
	// relevant at rank 3. The unjudged ones must not count as relevant.
	ranked := []Scored{{"x", 3}, {"y", 2}, {"r", 1}}
	v := evalOne(t, ranked, map[string]int{"r": 3, "n": 0}, Options{Threshold: 1})
	checks := map[string]float64{
		MeasureRecipRank:  1.0 / 3,
		MeasureP10:        0.1,     // 1 relevant / 10, although 3 retrieved
		MeasureMAP:        1.0 / 3, // precision 1/3 at the only relevant
		MeasureRecall100:  1,
		MeasureUnjudged10: 2.0 / 3, // two of the three retrieved
		"ndcg_cut_10":     (3 / math.Log2(4)) / 3,
	}
	for m, want := range checks {
		if !near(v[m], want) {
			t.Errorf("%s = %v, want %v", m, v[m], want)
		}
	}
}

func TestDenominators(t *testing.T) {
	// Four relevant in the qrels at -l 2 (a, b, c, d), only a and c
	// retrieved, at ranks 1 and 3; e is grade 1 (relevant at -l 1 only).
	grades := map[string]int{"a": 3, "b": 2, "c": 2, "d": 3, "e": 1, "z": 0}
	ranked := []Scored{{"a", 5}, {"e", 4}, {"c", 3}, {"z", 2}}
	v := evalOne(t, ranked, grades, Options{Threshold: 2})
	want := map[string]float64{
		MeasureP10:        0.2,             // 2 / 10, not 2 / 4
		MeasureRecall100:  0.5,             // 2 / num_rel 4
		MeasureMAP:        (1 + 2.0/3) / 4, // over num_rel, not over retrieved relevant
		MeasureRecipRank:  1,               //
		MeasureUnjudged10: 0,               //
		"ndcg_cut_10":     ndcgHand([]int{3, 1, 2, 0}, []int{3, 3, 2, 2, 1}),
	}
	for m, w := range want {
		if !near(v[m], w) {
			t.Errorf("-l 2 %s = %v, want %v", m, v[m], w)
		}
	}
	// At -l 1, e is relevant too: 5 relevant in the qrels, 3 retrieved.
	v1 := evalOne(t, ranked, grades, Options{Threshold: 1})
	if !near(v1[MeasureP10], 0.3) || !near(v1[MeasureRecall100], 3.0/5) || !near(v1[MeasureMAP], (1+1+1)/5.0) {
		t.Errorf("-l 1: %v", v1)
	}
	// The threshold plays no part in nDCG.
	if !near(v1["ndcg_cut_10"], v["ndcg_cut_10"]) {
		t.Errorf("ndcg changed with the threshold: %v vs %v", v1["ndcg_cut_10"], v["ndcg_cut_10"])
	}
}

// ndcgHand is nDCG over the whole lists, written out directly.
func ndcgHand(retrieved, allJudged []int) float64 {
	dcg := func(g []int) float64 {
		s := 0.0
		for i, x := range g {
			s += float64(x) / math.Log2(float64(i)+2)
		}
		return s
	}
	ideal := slices.Clone(allJudged)
	slices.Sort(ideal)
	slices.Reverse(ideal)
	return dcg(retrieved) / dcg(ideal)
}

func TestNDCGCutoffs(t *testing.T) {
	// Relevant documents below the cutoff add nothing; the ideal is cut too.
	grades := map[string]int{"a": 1, "b": 3, "c": 2}
	ranked := []Scored{{"a", 3}, {"n", 2}, {"b", 1}, {"c", 0}}
	v := evalOne(t, ranked, grades, Options{Threshold: 1, NDCGCuts: []int{2, 1, 2, 10}})
	if got := MeasureNames(Options{Threshold: 1, NDCGCuts: []int{2, 1, 2, 10}}); !slices.Equal(got,
		[]string{"ndcg_cut_1", "ndcg_cut_2", "ndcg_cut_10", "P_10", "map", "recall_100", "recip_rank", "unjudged_at_10"}) {
		t.Errorf("MeasureNames = %v", got)
	}
	want := map[string]float64{
		"ndcg_cut_1":  1.0 / 3,
		"ndcg_cut_2":  1 / (3 + 2/math.Log2(3)),
		"ndcg_cut_10": ndcgHand([]int{1, 0, 3, 2}, []int{3, 2, 1}),
	}
	for m, w := range want {
		if !near(v[m], w) {
			t.Errorf("%s = %v, want %v", m, v[m], w)
		}
	}
	// No positive grade at all: nDCG is 0, not NaN.
	v = evalOne(t, []Scored{{"a", 1}}, map[string]int{"a": 0}, Options{Threshold: 1})
	if v["ndcg_cut_10"] != 0 || v[MeasureMAP] != 0 || v[MeasureRecall100] != 0 {
		t.Errorf("no relevant: %v", v)
	}
}

func TestNegativeGradesArePooledButUnjudged(t *testing.T) {
	// trec_eval: a negative grade is "in the pool, not judged": never
	// relevant (even at -l 0), no gain, not in num_rel.
	grades := map[string]int{"neg": -1, "zero": 0, "r": 2}
	ranked := []Scored{{"neg", 3}, {"zero", 2}, {"r", 1}}
	v := evalOne(t, ranked, grades, Options{Threshold: 0})
	want := map[string]float64{
		MeasureRecipRank:  0.5,                    // zero is relevant at -l 0, neg is not
		MeasureRecall100:  1,                      // num_rel = 2 (zero, r)
		MeasureMAP:        (1.0/2 + 2.0/3) / 2,    //
		MeasureUnjudged10: 1.0 / 3,                // neg has no usable grade
		"ndcg_cut_10":     (2 / math.Log2(4)) / 2, // ideal: r alone
	}
	for m, w := range want {
		if !near(v[m], w) {
			t.Errorf("%s = %v, want %v", m, v[m], w)
		}
	}
}

func TestOnlyQueriesInBothAreAveraged(t *testing.T) {
	runs := []Run{{System: "s", Ranked: map[string][]Scored{
		"both1":   {{"a", 1}},
		"both2":   {{"b", 1}},
		"runOnly": {{"a", 1}},
		"empty":   {},
	}}}
	q := Qrels{
		"both1":     {"a": 3},
		"both2":     {"b": 0},
		"qrelsOnly": {"a": 3},
		"empty":     {"a": 3},
		"noEntries": {},
	}
	res, err := Evaluate(runs, q, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Queries != 2 || len(r.PerQuery) != 2 || r.PerQuery["both1"] == nil || r.PerQuery["both2"] == nil {
		t.Fatalf("queries = %d %v, want both1 and both2 only", r.Queries, r.PerQuery)
	}
	if !near(r.Mean[MeasureRecipRank], 0.5) || !near(r.Mean["ndcg_cut_10"], 0.5) {
		t.Errorf("means = %v, want recip_rank and ndcg 0.5", r.Mean)
	}
	// Nothing in common: no means rather than zeros.
	res, err = Evaluate(runs, Qrels{"other": {"a": 1}}, DefaultOptions())
	if err != nil || res[0].Queries != 0 || len(res[0].Mean) != 0 {
		t.Errorf("disjoint: %+v %v", res, err)
	}
}

func TestEvaluateRefuses(t *testing.T) {
	q := Qrels{"q": {"a": 1}}
	cases := map[string]struct {
		runs []Run
		o    Options
		msg  string
	}{
		"duplicate doc": {[]Run{{System: "s", Ranked: map[string][]Scored{"q": {{"a", 1}, {"b", 2}, {"a", 3}}}}}, DefaultOptions(), `document "a" retrieved twice`},
		"NaN score":     {[]Run{{System: "s", Ranked: map[string][]Scored{"q": {{"a", math.NaN()}}}}}, DefaultOptions(), "NaN"},
		"two names":     {[]Run{{System: "s"}, {System: "s"}}, DefaultOptions(), "given twice"},
		"threshold":     {nil, Options{Threshold: -1}, "threshold"},
		"cutoff":        {nil, Options{Threshold: 1, NDCGCuts: []int{0}}, "cutoff"},
	}
	for name, c := range cases {
		_, err := Evaluate(c.runs, q, c.o)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, c.msg)
		}
	}
	// A duplicate in a query without qrels is never looked at, as in trec_eval.
	if _, err := Evaluate([]Run{{System: "s", Ranked: map[string][]Scored{"other": {{"a", 1}, {"a", 1}}}}}, q, DefaultOptions()); err != nil {
		t.Errorf("duplicate outside the qrels: %v", err)
	}
}

// TopK by heap selection must equal the full sort's prefix, ties included.
func TestTopKEqualsSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		n := 1 + rng.IntN(120)
		ranked := make([]Scored, n)
		for i := range ranked {
			ranked[i] = Scored{Doc: "d" + strconv.Itoa(rng.IntN(10*n)) + "_" + strconv.Itoa(i), Score: float64(rng.IntN(5))}
			if trial%7 == 0 && i%11 == 0 {
				ranked[i].Score = math.NaN() // last, in docid order
			}
		}
		full := slices.Clone(ranked)
		sortTrec(full)
		for _, k := range []int{1, 2, 3, n / 4, n / 3, n/2 - 1, n / 2, n, n + 5} {
			if k <= 0 {
				continue
			}
			got := TopK(ranked, k)
			want := full[:min(k, n)]
			if !slices.EqualFunc(got, want, func(a, b Scored) bool {
				return a.Doc == b.Doc && (a.Score == b.Score || math.IsNaN(a.Score) && math.IsNaN(b.Score))
			}) {
				t.Fatalf("n %d k %d: TopK %v, sorted prefix %v", n, k, got, want)
			}
		}
	}
}
