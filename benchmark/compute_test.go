package benchmark

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark/corr"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// synthetic returns items over nq queries with a noisy labeler on 0..3.
func synthetic(seed uint64, n, nq int) []Item {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	items := make([]Item, n)
	for i := range items {
		q := rng.IntN(nq)
		ref := rng.IntN(4)
		if rng.IntN(2) == 0 {
			ref = 0
		}
		exp := math.Max(0, math.Min(3, float64(ref)+rng.NormFloat64()*0.9))
		got := int(math.Round(exp))
		items[i] = Item{
			Query: "q" + strconv.Itoa(q),
			Doc:   "d" + strconv.Itoa(i),
			Ref:   ref,
			Got:   got,
			Score: exp,
		}
	}
	return items
}

func opts03() Options { return Options{MinGrade: 0, MaxGrade: 3} }

func TestComputeEmpty(t *testing.T) {
	_, err := Compute(nil, opts03())
	if err == nil || !strings.Contains(err.Error(), "no pairs graded by both") {
		t.Fatalf("err = %v", err)
	}
}

func TestComputeInvalid(t *testing.T) {
	item := Item{Query: "q", Doc: "d", Ref: 1, Got: 1, Score: 1}
	for name, tc := range map[string]struct {
		items []Item
		opt   Options
		msg   string
	}{
		"scale":     {[]Item{item}, Options{MinGrade: 3, MaxGrade: 3}, "invalid grade scale"},
		"threshold": {[]Item{item}, Options{MinGrade: 0, MaxGrade: 3, Threshold: 4}, "threshold"},
		"ref":       {[]Item{{Query: "q", Doc: "d", Ref: 4}}, opts03(), "reference grade 4"},
		"got":       {[]Item{{Query: "q", Doc: "d", Got: -1}}, opts03(), "labeler grade -1"},
		"score":     {[]Item{{Query: "q", Doc: "d", Score: math.NaN()}}, opts03(), "not finite"},
		"duplicate": {[]Item{item, {Query: "p", Doc: "d"}, item}, opts03(), `(query "q", doc "d") occurs more than once`},
		"bootstrap": {[]Item{item}, Options{MaxGrade: 3, Bootstrap: -1}, "bootstrap"},
	} {
		_, err := Compute(tc.items, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.msg)
		}
	}
	// Same doc id under two queries is fine.
	if _, err := Compute([]Item{item, {Query: "p", Doc: "d"}}, opts03()); err != nil {
		t.Errorf("same doc in two queries: %v", err)
	}
}

func TestComputePerfectAgreement(t *testing.T) {
	var items []Item
	for q := 0; q < 5; q++ {
		for d := 0; d < 8; d++ {
			g := (q + d) % 4
			items = append(items, Item{Query: fmt.Sprint(q), Doc: fmt.Sprint(d), Ref: g, Got: g, Score: float64(g)})
		}
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Undefined) != 0 {
		t.Errorf("undefined: %v", r.Undefined)
	}
	for _, name := range MetricNames() {
		v, ok := r.Metric(name)
		want := 1.0
		if name == "mae" {
			want = 0
		}
		if !ok || !near(v, want, 1e-12) {
			t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
		}
		if ci, ok := r.CI[name]; !ok || !near(ci[0], want, 1e-12) || !near(ci[1], want, 1e-12) {
			t.Errorf("%s CI = %v (%v)", name, ci, ok)
		}
	}
	if r.N != 40 || r.Queries != 5 || r.NDCGQueries != 5 || r.Threshold != 2 {
		t.Errorf("counts: %+v", r)
	}
	for i, row := range r.Confusion {
		for j, c := range row {
			if (i == j) != (c == 10) {
				t.Errorf("confusion %v", r.Confusion)
			}
		}
	}
}

func TestComputeSingleClass(t *testing.T) {
	items := []Item{
		{Query: "a", Doc: "1", Ref: 1, Got: 1, Score: 1},
		{Query: "a", Doc: "2", Ref: 1, Got: 1, Score: 1},
		{Query: "b", Doc: "1", Ref: 1, Got: 1, Score: 1},
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy != 1 || r.MAE != 0 || r.WithinOne != 1 {
		t.Errorf("accuracy %v mae %v", r.Accuracy, r.MAE)
	}
	// Binary: grade 1 < threshold 2, so no positive on either side and
	// precision, recall and F1 are all undefined. NDCG stays defined: grade 1
	// has gain 1. Pairwise: a single grade has no pairs.
	wantUndef := []string{"cohen_kappa", "linear_kappa", "quadratic_kappa", "krippendorff_alpha_ordinal",
		"krippendorff_alpha_interval", "binary_kappa", "precision", "recall", "f1", "pearson", "spearman",
		"kendall_tau_b", "pairwise_accuracy", "pairwise_accuracy_strict",
		"per_grade_accuracy[0]", "per_grade_accuracy[2]", "per_grade_accuracy[3]"}
	if fmt.Sprint(r.Undefined) != fmt.Sprint(wantUndef) {
		t.Errorf("undefined = %v\nwant        %v", r.Undefined, wantUndef)
	}
	if r.NDCG10 != 1 || r.NDCGQueries != 2 {
		t.Errorf("ndcg %v over %d", r.NDCG10, r.NDCGQueries)
	}
	for _, name := range wantUndef {
		if _, ok := r.CI[name]; ok {
			t.Errorf("CI for undefined %s", name)
		}
	}
	checkJSON(t, r)
}

func checkJSON(t *testing.T, r Result) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	s := string(b)
	for _, key := range []string{`"n":`, `"accuracy":`, `"within_one_accuracy":`, `"mae":`, `"cohen_kappa":`,
		`"linear_kappa":`, `"quadratic_kappa":`, `"krippendorff_alpha_ordinal":`, `"krippendorff_alpha_interval":`,
		`"binary_kappa":`, `"precision":`, `"recall":`, `"f1":`, `"pearson":`, `"spearman":`, `"kendall_tau_b":`,
		`"ndcg_at_10":`, `"pairwise_accuracy":`, `"pairwise_accuracy_strict":`, `"confusion":`,
		`"per_grade_accuracy":`, `"ndcg_queries":`, `"ci":{`, `"undefined":[`} {
		if !strings.Contains(s, key) {
			t.Errorf("JSON lacks %s: %s", key, s)
		}
	}
	if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
		t.Errorf("JSON has NaN/Inf: %s", s)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
}

// TestComputeMatchesIndependent checks every figure of Compute against the
// exported single-metric functions and plain loops.
func TestComputeMatchesIndependent(t *testing.T) {
	items := synthetic(21, 5000, 40)
	// A query with no relevant document and one with a single document.
	items = append(items, Item{Query: "zero", Doc: "a", Ref: 0, Got: 1, Score: 0.7},
		Item{Query: "zero", Doc: "b", Ref: 0, Got: 0, Score: 0.1},
		Item{Query: "solo", Doc: "a", Ref: 3, Got: 2, Score: 2.2})
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkJSON(t, r)
	n := len(items)
	ref := make([]int, n)
	got := make([]int, n)
	rf := make([]float64, n)
	gf := make([]float64, n)
	sc := make([]float64, n)
	units := make([][]float64, n)
	var agree, within, abs float64
	var tp, fp, fn float64
	for i, it := range items {
		ref[i], got[i], rf[i], gf[i], sc[i] = it.Ref, it.Got, float64(it.Ref), float64(it.Got), it.Score
		units[i] = []float64{rf[i], gf[i]}
		d := math.Abs(rf[i] - gf[i])
		if d == 0 {
			agree++
		}
		if d <= 1 {
			within++
		}
		abs += d
		switch {
		case it.Ref >= 2 && it.Got >= 2:
			tp++
		case it.Ref < 2 && it.Got >= 2:
			fp++
		case it.Ref >= 2 && it.Got < 2:
			fn++
		}
	}
	bref := make([]int, n)
	bgot := make([]int, n)
	for i := range ref {
		if ref[i] >= 2 {
			bref[i] = 1
		}
		if got[i] >= 2 {
			bgot[i] = 1
		}
	}
	must := func(v float64, ok bool) float64 {
		t.Helper()
		if !ok {
			t.Fatal("undefined")
		}
		return v
	}
	prec, rec := tp/(tp+fp), tp/(tp+fn)
	want := map[string]float64{
		"accuracy":                    agree / float64(n),
		"within_one_accuracy":         within / float64(n),
		"mae":                         abs / float64(n),
		"cohen_kappa":                 must(CohenKappa(ref, got, 0, 3, Unweighted)),
		"linear_kappa":                must(CohenKappa(ref, got, 0, 3, Linear)),
		"quadratic_kappa":             must(CohenKappa(ref, got, 0, 3, Quadratic)),
		"krippendorff_alpha_ordinal":  must(KrippendorffAlpha(units, Ordinal)),
		"krippendorff_alpha_interval": must(KrippendorffAlpha(units, Interval)),
		"binary_kappa":                must(CohenKappa(bref, bgot, 0, 1, Unweighted)),
		"precision":                   prec,
		"recall":                      rec,
		"f1":                          2 * prec * rec / (prec + rec),
		"pearson":                     must(corr.Pearson(rf, sc)),
		"spearman":                    must(corr.Spearman(rf, gf)),
		"kendall_tau_b":               must(corr.KendallTauB(rf, gf)),
	}
	// Ranking metrics per query.
	byQ := map[string][]Item{}
	for _, it := range items {
		byQ[it.Query] = append(byQ[it.Query], it)
	}
	var ndcgSum float64
	var ndcgN int
	var correct, strictC, pairs float64
	for _, qi := range byQ {
		s := make([]float64, len(qi))
		g := make([]float64, len(qi))
		rr := make([]int, len(qi))
		for i, it := range qi {
			s[i], rr[i] = it.Score, it.Ref
			g[i] = float64(it.Ref)
		}
		if v, ok := NDCGAt(10, s, g); ok {
			ndcgSum += v
			ndcgN++
		}
		h, st, p := PairwiseAccuracy(s, rr)
		correct += h * float64(p)
		strictC += st * float64(p)
		pairs += float64(p)
	}
	want["ndcg_at_10"] = ndcgSum / float64(ndcgN)
	want["pairwise_accuracy"] = correct / pairs
	want["pairwise_accuracy_strict"] = strictC / pairs
	for name, w := range want {
		v, ok := r.Metric(name)
		if !ok || !near(v, w, 1e-9) {
			t.Errorf("%s = %.12f (%v), independent %.12f", name, v, ok, w)
		}
	}
	if r.NDCGQueries != ndcgN || ndcgN != len(byQ)-1 {
		t.Errorf("ndcg queries %d, want %d", r.NDCGQueries, ndcgN)
	}
	if float64(r.PairwisePairs) != pairs {
		t.Errorf("pairs %d, want %v", r.PairwisePairs, pairs)
	}
	// Per-grade accuracy is the recall of each reference grade.
	for g := 0; g < 4; g++ {
		var hit, all float64
		for i := range ref {
			if ref[i] == g {
				all++
				if got[i] == g {
					hit++
				}
			}
		}
		if !near(r.PerGradeAccuracy[g], hit/all, 1e-12) {
			t.Errorf("per-grade %d: %v want %v", g, r.PerGradeAccuracy[g], hit/all)
		}
	}
}

func TestComputeOtherScalesAndThreshold(t *testing.T) {
	// 0..4 scale, threshold 3, items shifted so grade 4 is used.
	items := synthetic(31, 2000, 20)
	for i := range items {
		if items[i].Ref == 3 && i%2 == 0 {
			items[i].Ref = 4
		}
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 4, Threshold: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Confusion) != 5 || r.Threshold != 3 {
		t.Fatalf("confusion %d rows, threshold %d", len(r.Confusion), r.Threshold)
	}
	var tp, fp float64
	for _, it := range items {
		if it.Got >= 3 {
			if it.Ref >= 3 {
				tp++
			} else {
				fp++
			}
		}
	}
	if !near(r.Precision, tp/(tp+fp), 1e-12) {
		t.Errorf("precision %v want %v", r.Precision, tp/(tp+fp))
	}
	// 1..5 scale: gains are the grades themselves, so grade 1 is relevant.
	one := []Item{{Query: "q", Doc: "a", Ref: 1, Got: 1, Score: 1}, {Query: "q", Doc: "b", Ref: 2, Got: 1, Score: 1}}
	r, err = Compute(one, Options{MinGrade: 1, MaxGrade: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1.5 * (1 + 1/lg(2)) / (2 + 1/lg(2)); !near(r.NDCG10, want, 1e-12) {
		t.Errorf("ndcg on 1..5: %v want %v", r.NDCG10, want)
	}
	// 0..1 scale: default threshold becomes 1.
	if r, err := Compute([]Item{{Query: "q", Doc: "a", Ref: 1, Got: 1, Score: 1}}, Options{MaxGrade: 1}); err != nil || r.Threshold != 1 {
		t.Errorf("binary scale: %v %v", r.Threshold, err)
	}
}

func TestBootstrapReproducible(t *testing.T) {
	items := synthetic(41, 20000, 100)
	opt := Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 200, Seed: 7}
	a, err := Compute(items, opt)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	b, err := Compute(items, opt)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("same seed, different results (GOMAXPROCS %d vs 1)", prev)
	}
	if len(a.CI) != len(MetricNames()) {
		t.Errorf("CI has %d metrics, want %d", len(a.CI), len(MetricNames()))
	}
	for name, ci := range a.CI {
		v, _ := a.Metric(name)
		if !(ci[0] <= ci[1]) || ci[0] > v+0.05 || ci[1] < v-0.05 {
			t.Errorf("%s: point %v outside/far from CI %v", name, v, ci)
		}
		if ci[0] == ci[1] {
			t.Errorf("%s: degenerate CI %v", name, ci)
		}
	}
	opt.Seed = 8
	c, _ := Compute(items, opt)
	if c.CI["cohen_kappa"] == a.CI["cohen_kappa"] {
		t.Error("different seeds gave identical CIs")
	}
	checkJSON(t, a)
}

// The order of the input changes nothing, not even the bootstrap CIs.
func TestComputeOrderInvariant(t *testing.T) {
	items := synthetic(61, 5000, 50)
	opt := Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 100, Seed: 3}
	a, err := Compute(items, opt)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	b, err := Compute(items, opt)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("shuffled input changed the result:\n%s\n%s", ja, jb)
	}
}

// Real data: the LLMJudge test set (human grades) against GPT-4o's grades.
func TestComputeLLMJudgeGPT4o(t *testing.T) {
	dir := storetest.DataDir(t)
	human := map[[2]string]int{}
	f, err := os.Open(filepath.Join(dir, "llmjudge", "test-visible.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var rec struct {
			QueryID    string `json:"query_id"`
			DocID      string `json:"doc_id"`
			HumanGrade int    `json:"human_grade"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		human[[2]string{rec.QueryID, rec.DocID}] = rec.HumanGrade
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	qrels, err := os.ReadFile(filepath.Join(dir, "llmjudge", "runs-visible", "Olz-gpt4o.qrels"))
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	var conf [4][4]float64
	for _, line := range strings.Split(strings.TrimSpace(string(qrels)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("bad qrels line %q", line)
		}
		g, err := strconv.Atoi(f[3])
		if err != nil {
			t.Fatal(err)
		}
		h, ok := human[[2]string{f[0], f[2]}]
		if !ok {
			continue
		}
		items = append(items, Item{Query: f[0], Doc: f[2], Ref: h, Got: g, Score: float64(g)})
		conf[h][g]++
	}
	if len(items) < 2000 {
		t.Fatalf("only %d joined pairs", len(items))
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Independent: po and pe from the 4x4 table.
	n := float64(len(items))
	var po, pe float64
	for i := 0; i < 4; i++ {
		var row, col float64
		for j := 0; j < 4; j++ {
			row += conf[i][j]
			col += conf[j][i]
		}
		po += conf[i][i] / n
		pe += row * col / (n * n)
	}
	if !near(r.Accuracy, po, 1e-12) {
		t.Errorf("accuracy %v, independent %v", r.Accuracy, po)
	}
	if kappa := (po - pe) / (1 - pe); !near(r.CohenKappa, kappa, 1e-12) {
		t.Errorf("kappa %v, independent %v", r.CohenKappa, kappa)
	}
	if r.CohenKappa < 0.15 || r.CohenKappa > 0.45 || r.QuadraticKappa < 0.35 || r.QuadraticKappa > 0.65 {
		t.Errorf("implausible: kappa %.3f, quadratic %.3f", r.CohenKappa, r.QuadraticKappa)
	}
	if r.AlphaOrdinal < 0.3 || r.AlphaOrdinal > 0.65 || r.NDCG10 < 0.5 || r.NDCG10 > 1 {
		t.Errorf("implausible: alpha %.3f, ndcg %.3f", r.AlphaOrdinal, r.NDCG10)
	}
	checkJSON(t, r)
	t.Logf("GPT-4o vs humans, %d pairs, %d queries: acc %.3f kappa %.3f [%.3f, %.3f] lin %.3f quad %.3f alpha_ord %.3f alpha_int %.3f bin_kappa %.3f P %.3f R %.3f F1 %.3f pearson %.3f spearman %.3f tau_b %.3f ndcg@10 %.3f pairwise %.3f/%.3f",
		r.N, r.Queries, r.Accuracy, r.CohenKappa, r.CI["cohen_kappa"][0], r.CI["cohen_kappa"][1], r.LinearKappa,
		r.QuadraticKappa, r.AlphaOrdinal, r.AlphaInterval, r.BinaryKappa, r.Precision, r.Recall, r.F1,
		r.Pearson, r.Spearman, r.KendallTauB, r.NDCG10, r.PairwiseAccuracy, r.PairwiseAccuracyStrict)
}

// BenchmarkCompute1M is Compute alone, on a million items already in
// memory (2,000 queries, 1,000 bootstrap samples): not `qrelbench eval`,
// which also reads and pairs the grades and prints (BenchmarkEval1M in
// cmd/qrelbench measures that).
func BenchmarkCompute1M(b *testing.B) {
	items := synthetic(51, 1_000_000, 2000)
	opt := Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 1000, Seed: 1}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Compute(items, opt); err != nil {
			b.Fatal(err)
		}
	}
}
