package features

import (
	"math"
	"testing"
)

func groupPairs() []Pair {
	q := "how does a bounty hunter make money"
	return []Pair{
		{Query: q, Body: "A bounty hunter makes money from the bail: 10 to 20 percent.", BM25: 9, BM25Max: 9, BM25Rank: 1, NCandidates: 4},
		{Query: q, Body: "Bounty hunters chase fugitives.", BM25: 4, BM25Max: 9, BM25Rank: 2, NCandidates: 4},
		{Query: q, Body: "Money market accounts pay interest.", BM25: 2, BM25Max: 9, BM25Rank: 3, NCandidates: 4},
		{Query: q, Body: "Nothing relevant here at all.", BM25: 0, BM25Max: 9, NCandidates: 4},
	}
}

func TestExtractGroup(t *testing.T) {
	ps := groupPairs()
	xs := ExtractGroup(ps, nil)
	names := GroupNames()
	if len(xs) != len(ps) || len(names) != NumGroupFeatures {
		t.Fatalf("%d rows, %d names", len(xs), len(names))
	}
	col := map[string]int{}
	for j, n := range names {
		if _, dup := col[n]; dup || n == "" {
			t.Fatalf("name %q empty or duplicate", n)
		}
		col[n] = j
	}
	for i, x := range xs {
		if len(x) != NumGroupFeatures {
			t.Fatalf("row %d has %d features", i, len(x))
		}
		for j, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("row %d %s = %v", i, names[j], v)
			}
		}
		// the per-pair block is Extract's
		want := Extract(ps[i], nil)
		for j := range want {
			if x[j] != want[j] {
				t.Fatalf("row %d %s = %v, Extract %v", i, names[j], x[j], want[j])
			}
		}
	}
	chk := func(i int, name string, want float64) {
		t.Helper()
		if got := xs[i][col[name]]; !near(got, want) {
			t.Errorf("row %d %s = %v, want %v", i, name, got, want)
		}
	}
	chk(0, "bm25_rel_max", 1)
	chk(1, "bm25_rel_max", 4.0/9)
	chk(0, "bm25_rel_mean", 9-15.0/4)
	chk(0, "bm25_pct", 1)
	chk(3, "bm25_pct", 0)
	chk(1, "bm25_pct", 2.0/3)
	chk(3, "cov_any_stem_rel_max", 0)
	chk(0, "group_log_size", math.Log1p(4))
	chk(2, "group_log_bm25_max", math.Log1p(9))
	// ties share the mid rank
	tied := []Pair{{Query: "x", BM25: 1}, {Query: "x", BM25: 1}, {Query: "x", BM25: 3}}
	ts := ExtractGroup(tied, nil)
	if p := ts[0][col["bm25_pct"]]; !near(p, 0.25) || !near(ts[1][col["bm25_pct"]], 0.25) || !near(ts[2][col["bm25_pct"]], 1) {
		t.Fatalf("tied pct %v %v %v", p, ts[1][col["bm25_pct"]], ts[2][col["bm25_pct"]])
	}
	// a single pair and an empty group
	if one := ExtractGroup(ps[:1], nil); len(one) != 1 || one[0][col["bm25_pct"]] != 0.5 || one[0][col["bm25_rel_mean"]] != 0 {
		t.Fatalf("singleton %v", one)
	}
	if len(ExtractGroup(nil, nil)) != 0 {
		t.Fatal("empty group")
	}
	if GroupVersion == Version {
		t.Fatal("versions must differ")
	}
}

func TestExtractGroupReusesAndIsDeterministic(t *testing.T) {
	ps := groupPairs()
	a := ExtractGroup(ps, nil)
	b := ExtractGroup(ps, a[:0])
	if &a[0][0] != &b[0][0] {
		t.Fatal("rows not reused")
	}
	c := ExtractGroup(ps, nil)
	for i := range b {
		for j := range b[i] {
			if b[i][j] != c[i][j] {
				t.Fatalf("row %d feature %d differs", i, j)
			}
		}
	}
	allocs := testing.AllocsPerRun(50, func() { b = ExtractGroup(ps, b) })
	if allocs > 0 {
		t.Fatalf("%v allocs per steady-state call", allocs)
	}
}
