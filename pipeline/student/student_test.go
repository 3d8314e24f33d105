package student

import (
	"encoding/json"
	"math"
	"math/rand"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/features"
)

// synthetic draws n examples from a known proportional-odds model on d
// features with cut points cuts on the latent score.
func synthetic(n, d int, seed int64, minGrade int) ([]Example, []float64) {
	r := rand.New(rand.NewSource(seed))
	w := make([]float64, d)
	for j := range w {
		w[j] = r.NormFloat64()
	}
	cuts := []float64{-1.5, 0, 1.5}
	ex := make([]Example, n)
	for i := range ex {
		x := make([]float64, d)
		s := 0.0
		for j := range x {
			x[j] = 3 + 2*r.NormFloat64() // not standardised on purpose
			s += w[j] * (x[j] - 3) / 2
		}
		s += 0.3 * r.NormFloat64() // a little noise
		g := 0
		for _, c := range cuts {
			if s > c {
				g++
			}
		}
		ex[i] = Example{X: x, Grade: minGrade + g}
	}
	return ex, w
}

func TestRecoversOrdinalRelationship(t *testing.T) {
	ex, wTrue := synthetic(2000, 8, 1, 0)
	m, err := Train(ex, TrainOptions{MinGrade: 0, MaxGrade: 3, L2: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	more, _ := synthetic(4000, 8, 1, 0) // same generator and weights; the first 2000 are ex
	test := more[2000:]
	correct := 0
	probs := make([]float64, 0, 4)
	for _, e := range test {
		g, exp, p := m.Predict(e.X, probs)
		probs = p
		sum := 0.0
		for _, v := range p {
			if v < 0 || v > 1 {
				t.Fatalf("prob %v", v)
			}
			sum += v
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("probs sum to %v", sum)
		}
		if exp < 0 || exp > 3 {
			t.Fatalf("expected %v", exp)
		}
		if g == e.Grade {
			correct++
		}
	}
	acc := float64(correct) / float64(len(test))
	t.Logf("held-out accuracy %.3f, train %+v", acc, m.Summary)
	if acc < 0.85 {
		t.Fatalf("held-out accuracy %.3f", acc)
	}
	// weight direction recovered
	cos := dot(m.Weights, wTrue) / norm2(m.Weights) / norm2(wTrue)
	if cos < 0.98 {
		t.Fatalf("cosine(weights, true) = %.3f", cos)
	}
	for k := 1; k < len(m.Thresholds); k++ {
		if !(m.Thresholds[k] > m.Thresholds[k-1]) {
			t.Fatalf("thresholds not ordered: %v", m.Thresholds)
		}
	}
	if m.Summary.Duration > 3*time.Second {
		t.Fatalf("training took %v", m.Summary.Duration)
	}
	if m.Summary.N != 2000 || len(m.Summary.PerGrade) != 4 || m.Summary.TrainKappa < 0.7 {
		t.Fatalf("summary %+v", m.Summary)
	}
}

func TestGradientMatchesFiniteDifferences(t *testing.T) {
	ex, _ := synthetic(200, 4, 3, 0)
	d, K := 4, 4
	Z := make([]float64, len(ex)*d)
	y := make([]int, len(ex))
	for i, e := range ex {
		copy(Z[i*d:], e.X)
		y[i] = e.Grade
	}
	cw := []float64{1, 2, 0.5, 1.5}
	wsum := 0.0
	for _, g := range y {
		wsum += cw[g]
	}
	o := &objective{Z: Z, y: y, d: d, K: K, cw: cw, wsum: wsum, l2: 0.01,
		t: make([]float64, K-1), gt: make([]float64, K-1)}
	theta := []float64{0.1, -0.2, 0.05, 0.3, -1, 0.2, -0.5}
	g := make([]float64, len(theta))
	o.eval(theta, g)
	tmp := make([]float64, len(theta))
	for j := range theta {
		h := 1e-6
		tp := append([]float64(nil), theta...)
		tm := append([]float64(nil), theta...)
		tp[j] += h
		tm[j] -= h
		num := (o.eval(tp, tmp) - o.eval(tm, tmp)) / (2 * h)
		if math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Fatalf("grad[%d] = %v, numeric %v", j, g[j], num)
		}
	}
}

func TestScalesAndOffsetGrades(t *testing.T) {
	ex, _ := synthetic(800, 3, 5, 1) // grades 1..4
	m, err := Train(ex, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.MinGrade != 1 || m.MaxGrade != 4 || len(m.Thresholds) != 3 {
		t.Fatalf("scale %d-%d, %d thresholds", m.MinGrade, m.MaxGrade, len(m.Thresholds))
	}
	g, e, p := m.Predict(ex[0].X, nil)
	if g < 1 || g > 4 || e < 1 || e > 4 || len(p) != 4 {
		t.Fatalf("predict %d %v %v", g, e, p)
	}
	// a scale wider than the data: unseen top grade 5 gets a threshold too
	m, err = Train(ex, TrainOptions{MinGrade: 0, MaxGrade: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Thresholds) != 5 {
		t.Fatalf("%d thresholds", len(m.Thresholds))
	}
	for k := 1; k < len(m.Thresholds); k++ {
		if !(m.Thresholds[k] > m.Thresholds[k-1]) {
			t.Fatalf("thresholds not ordered: %v", m.Thresholds)
		}
	}
}

func TestBalanceRaisesRareGradeRecall(t *testing.T) {
	// imbalanced: most examples grade 0
	r := rand.New(rand.NewSource(9))
	var ex []Example
	for i := 0; i < 3000; i++ {
		x := r.NormFloat64()
		s := x + 0.8*r.NormFloat64()
		g := 0
		if s > 1.2 {
			g = 1
		}
		if s > 2.0 {
			g = 2
		}
		ex = append(ex, Example{X: []float64{x}, Grade: g})
	}
	recall := func(m *Model, grade int) float64 {
		hit, n := 0, 0
		for _, e := range ex {
			if e.Grade == grade {
				n++
				if g, _, _ := m.Predict(e.X, nil); g == grade {
					hit++
				}
			}
		}
		return float64(hit) / float64(n)
	}
	plain, err := Train(ex, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bal, err := Train(ex, TrainOptions{Balance: 1})
	if err != nil {
		t.Fatal(err)
	}
	rp, rb := recall(plain, 1)+recall(plain, 2), recall(bal, 1)+recall(bal, 2)
	t.Logf("rare-grade recall plain %.3f balanced %.3f", rp, rb)
	if rb <= rp {
		t.Fatalf("balance did not help rare grades: %.3f <= %.3f", rb, rp)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	ex, _ := synthetic(500, 5, 7, 0)
	m, err := Train(ex, TrainOptions{MinGrade: 0, MaxGrade: 3, Balance: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex[:100] {
		g1, e1, p1 := m.Predict(e.X, nil)
		g2, e2, p2 := m2.Predict(e.X, nil)
		if g1 != g2 || e1 != e2 {
			t.Fatalf("round trip differs: %d %v vs %d %v", g1, e1, g2, e2)
		}
		for k := range p1 {
			if p1[k] != p2[k] {
				t.Fatal("probs differ")
			}
		}
	}
	if m2.Summary.N != 500 || m2.Options.Balance != 0.5 {
		t.Fatalf("summary/options lost: %+v %+v", m2.Summary, m2.Options)
	}
	// corrupt models are refused
	var raw map[string]any
	_ = json.Unmarshal(data, &raw)
	raw["thresholds"] = []float64{1, 0, 2}
	bad, _ := json.Marshal(raw)
	if _, err := Load(bad); err == nil {
		t.Fatal("unordered thresholds accepted")
	}
	raw["thresholds"] = []float64{1, 2}
	bad, _ = json.Marshal(raw)
	if _, err := Load(bad); err == nil {
		t.Fatal("wrong threshold count accepted")
	}
	if _, err := Load([]byte("{")); err == nil {
		t.Fatal("bad json accepted")
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train(nil, TrainOptions{}); err == nil {
		t.Fatal("empty accepted")
	}
	one := []Example{{X: []float64{1}, Grade: 2}, {X: []float64{3}, Grade: 2}}
	if _, err := Train(one, TrainOptions{MinGrade: 0, MaxGrade: 3}); err == nil {
		t.Fatal("single grade accepted")
	}
	if _, err := Train([]Example{{X: []float64{1}, Grade: 0}, {X: []float64{1, 2}, Grade: 1}}, TrainOptions{}); err == nil {
		t.Fatal("ragged accepted")
	}
	if _, err := Train([]Example{{X: []float64{1}, Grade: 0}, {X: []float64{2}, Grade: 5}}, TrainOptions{MinGrade: 0, MaxGrade: 3}); err == nil {
		t.Fatal("out-of-scale accepted")
	}
	if _, err := Train([]Example{{X: []float64{math.NaN()}, Grade: 0}, {X: []float64{2}, Grade: 1}}, TrainOptions{}); err == nil {
		t.Fatal("NaN accepted")
	}
}

func TestKappa(t *testing.T) {
	a := []int{0, 1, 2, 3, 0, 1}
	if k := Kappa(a, a, 4); math.Abs(k-1) > 1e-12 {
		t.Fatalf("self kappa %v", k)
	}
	// classic example: po=0.7, pe=0.5 -> 0.4
	x := []int{1, 1, 1, 1, 1, 0, 0, 0, 0, 0}
	y := []int{1, 1, 1, 1, 0, 0, 0, 0, 1, 1}
	if k := Kappa(x, y, 2); math.Abs(k-(0.7-0.5)/0.5) > 1e-12 {
		t.Fatalf("kappa %v", k)
	}
}

func TestGBTLearnsAndRoundTrips(t *testing.T) {
	ex, _ := synthetic(2000, 6, 21, 0)
	m, err := Train(ex[:1500], TrainOptions{MinGrade: 0, MaxGrade: 3, Method: MethodGBT, Calibrate: true})
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for _, e := range ex[1500:] {
		g, exp, p := m.Predict(e.X, nil)
		if g == e.Grade {
			correct++
		}
		if exp < 0 || exp > 3 || len(p) != 4 {
			t.Fatalf("predict %d %v %v", g, exp, p)
		}
	}
	acc := float64(correct) / 500
	t.Logf("gbt held-out accuracy %.3f, %d trees, trained in %v", acc, len(m.Ensemble.Roots), m.Summary.Duration)
	if acc < 0.6 || m.Scale <= 0 || len(m.Cuts) != 3 {
		t.Fatalf("accuracy %.3f scale %v cuts %v", acc, m.Scale, m.Cuts)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex[:200] {
		g1, e1, _ := m.Predict(e.X, nil)
		g2, e2, _ := m2.Predict(e.X, nil)
		if g1 != g2 || e1 != e2 {
			t.Fatal("round trip differs")
		}
	}
	var raw map[string]any
	_ = json.Unmarshal(data, &raw)
	raw["ensemble"].(map[string]any)["nodes"].([]any)[0].(map[string]any)["l"] = 0 // a cycle
	bad, _ := json.Marshal(raw)
	if _, err := Load(bad); err == nil {
		t.Fatal("cyclic tree accepted")
	}
}

func TestCalibrateReproducesTrainingDistribution(t *testing.T) {
	ex, _ := synthetic(3000, 4, 13, 0)
	// skew the grades: most examples grade 0
	for i := range ex {
		if ex[i].Grade == 1 && i%3 != 0 {
			ex[i].Grade = 0
		}
	}
	m, err := Train(ex, TrainOptions{MinGrade: 0, MaxGrade: 3, Calibrate: true, Balance: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int, 4)
	for _, e := range ex {
		g, _, _ := m.Predict(e.X, nil)
		got[g]++
	}
	for k, want := range m.Summary.PerGrade {
		if d := got[k] - want; d < -3 || d > 3 {
			t.Fatalf("predicted %v, training %v", got, m.Summary.PerGrade)
		}
	}
}

func TestFeatureSetsAndMismatch(t *testing.T) {
	ps := []features.Pair{
		{Query: "bounty hunter money", Body: "a bounty hunter earns money", BM25: 5, BM25Max: 5, BM25Rank: 1, NCandidates: 3},
		{Query: "bounty hunter money", Body: "hunters", BM25: 1, BM25Max: 5, BM25Rank: 2, NCandidates: 3},
		{Query: "bounty hunter money", Body: "nothing", NCandidates: 3},
	}
	xs := features.ExtractGroup(ps, nil)
	var ex []Example
	for i := 0; i < 30; i++ {
		for j, x := range xs {
			ex = append(ex, Example{X: x, Grade: 2 - j})
		}
	}
	m, err := Train(ex, TrainOptions{MinGrade: 0, MaxGrade: 3})
	if err != nil {
		t.Fatal(err)
	}
	if m.FeatureVersion != features.GroupVersion || len(m.FeatureNames) != features.NumGroupFeatures || m.CheckFeatures() != nil {
		t.Fatalf("version %q, %d names", m.FeatureVersion, len(m.FeatureNames))
	}
	grades, _, probs, err := m.PredictGroup(ps)
	if err != nil || len(grades) != 3 || len(probs) != 3 || grades[0] != 2 || grades[2] != 0 {
		t.Fatalf("PredictGroup %v %v %v", grades, probs, err)
	}
	data, _ := json.Marshal(m)
	if _, err := Load(data); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	for _, mut := range []func(){
		func() { raw["feature_version"] = "features-v0" },
		func() { raw["feature_version"] = features.Version }, // group-sized weights under the per-pair set
		func() { raw["feature_names"].([]any)[0] = "renamed" },
	} {
		_ = json.Unmarshal(data, &raw)
		mut()
		bad, _ := json.Marshal(raw)
		if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "retrain") {
			t.Fatalf("mismatch accepted or unclear: %v", err)
		}
	}
	// a per-pair model extracts per pair
	var ex1 []Example
	for _, e := range ex {
		ex1 = append(ex1, Example{X: e.X[:features.NumFeatures], Grade: e.Grade})
	}
	m1, err := Train(ex1, TrainOptions{MinGrade: 0, MaxGrade: 3})
	if err != nil {
		t.Fatal(err)
	}
	x1, err := m1.Extract(ps, nil)
	if err != nil || m1.FeatureVersion != features.Version || len(x1[0]) != features.NumFeatures {
		t.Fatalf("per-pair model: %q %v", m1.FeatureVersion, err)
	}
}

// BenchmarkExtractAndPredict grades groups of 160 pairs (50-word passages,
// the median of the real data) through ExtractGroup and the default
// (lexical-prior) model; pairs/s counts pairs. One op is a whole pass over
// eight queries, each with its own group, so that per-query caches are
// not always hot and the figure does not depend on how far b.N cycles.
func BenchmarkExtractAndPredict(b *testing.B) {
	const groupSize = 160
	ex, _ := synthetic(500, features.NumGroupFeatures, 11, 0)
	m, err := Train(ex, Tuned(0, 3))
	if err != nil {
		b.Fatal(err)
	}
	if m.FeatureVersion != features.GroupVersion {
		b.Fatalf("model version %q", m.FeatureVersion)
	}
	body := "Other terms for this job are bail enforcement agent, fugitive recovery agent, and bail fugitive investigator. " +
		"The job description is simple – a bounty hunter captures fugitives from justice in exchange for a monetary reward (the bounty). " +
		"Most bounty hunters earn a percentage of the bail, usually 10 to 20 percent."
	queries := []string{
		"how does a bounty hunter make money", "what is a bail enforcement agent", "fugitive recovery agent salary",
		"percentage of bail bounty hunters earn", "job description of a bounty hunter", "who captures fugitives from justice",
		"monetary reward for capturing a fugitive", "other names for bail fugitive investigator",
	}
	words := strings.Fields(body)
	groups := make([][]features.Pair, len(queries))
	for q, query := range queries {
		ps := make([]features.Pair, groupSize)
		for i := range ps {
			// vary the passages a little: rotate the words
			k := (i + 7*q) % len(words)
			ps[i] = features.Pair{
				Query: query,
				Body:  strings.Join(append(append([]string{}, words[k:]...), words[:k]...), " "),
				BM25:  9.1 - float64(i)*0.05, BM25Max: 9.1, BM25Rank: i + 1, NCandidates: groupSize,
			}
		}
		groups[q] = ps
	}
	b.ReportAllocs()
	start := time.Now()
	var pairs atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		var xs [][]float64
		probs := make([]float64, 0, 4)
		for pb.Next() {
			for _, ps := range groups {
				xs, _ = m.Extract(ps, xs)
				for _, x := range xs {
					_, _, probs = m.Predict(x, probs)
				}
				pairs.Add(groupSize)
			}
		}
	})
	b.ReportMetric(float64(pairs.Load())/time.Since(start).Seconds(), "pairs/s")
}
