package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestEvalRealDataThroughCLI imports the shared benchmark half and a
// published GPT-4o judge through the CLI, runs `eval --json`, and checks the
// figures against a second computation written here from the raw files:
// confusion counts, accuracy, Cohen's kappa (plain and quadratic) and
// tie-aware NDCG@10 with linear gains (the judge's grades are integers, so
// ties are common and the tie handling matters).
func TestEvalRealDataThroughCLI(t *testing.T) {
	data := storetest.DataDir(t)
	pairsFile := filepath.Join(data, "llmjudge", "test-visible.jsonl")
	qrelsFile := filepath.Join(data, "llmjudge", "runs-visible", "Olz-gpt4o.qrels")
	db := filepath.Join(t.TempDir(), "w.db")
	for _, args := range [][]string{
		{"--db", db, "init"},
		{"--db", db, "import", "pairs", pairsFile},
		{"--db", db, "import", "qrels", qrelsFile, "--labeler", "gpt4o"},
	} {
		if _, stderr, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	out, stderr, err := runCLI(t, "--db", db, "eval", "--reference", "human:imported", "--labelers", "gpt4o", "--json", "--bootstrap", "200")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	var got struct {
		Reference string `json:"reference"`
		Threshold int    `json:"threshold"`
		Labelers  []struct {
			Labeler        string                `json:"labeler"`
			N              int                   `json:"n"`
			Accuracy       float64               `json:"accuracy"`
			CohenKappa     float64               `json:"cohen_kappa"`
			QuadraticKappa float64               `json:"quadratic_kappa"`
			NDCG10         float64               `json:"ndcg_at_10"`
			Confusion      [][]int               `json:"confusion"`
			CI             map[string][2]float64 `json:"ci"`
		} `json:"labelers"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("eval --json is not JSON: %v\n%s", err, out)
	}
	if got.Reference != "human:imported" || got.Threshold != 2 || len(got.Labelers) != 1 {
		t.Fatalf("header %+v", got)
	}
	r := got.Labelers[0]

	// The independent computation, from the files themselves.
	human := map[[2]string]int{}
	f, err := os.Open(pairsFile)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var p struct {
			Q     string `json:"query_id"`
			D     string `json:"doc_id"`
			Grade int    `json:"human_grade"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		human[[2]string{p.Q, p.D}] = p.Grade
	}
	f.Close()
	raw, err := os.ReadFile(qrelsFile)
	if err != nil {
		t.Fatal(err)
	}
	var conf [4][4]float64
	n := 0.0
	byQuery := map[string][][2]float64{} // judge grade, human grade
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		g, _ := strconv.Atoi(f[3])
		h := human[[2]string{f[0], f[2]}]
		conf[h][g]++
		n++
		byQuery[f[0]] = append(byQuery[f[0]], [2]float64{float64(g), float64(h)})
	}
	if r.N != int(n) {
		t.Fatalf("n %d, want %v", r.N, n)
	}
	for i := range 4 {
		for j := range 4 {
			if float64(r.Confusion[i][j]) != conf[i][j] {
				t.Fatalf("confusion[%d][%d] = %d, want %v", i, j, r.Confusion[i][j], conf[i][j])
			}
		}
	}
	kappa := func(w func(i, j int) float64) float64 {
		var rows, cols [4]float64
		for i := range 4 {
			for j := range 4 {
				rows[i] += conf[i][j]
				cols[j] += conf[i][j]
			}
		}
		var obs, exp float64
		for i := range 4 {
			for j := range 4 {
				obs += w(i, j) * conf[i][j] / n
				exp += w(i, j) * rows[i] * cols[j] / (n * n)
			}
		}
		return 1 - obs/exp
	}
	agree := 0.0
	for i := range 4 {
		agree += conf[i][i]
	}
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.12f, want %.12f", name, got, want)
		}
	}
	check("accuracy", r.Accuracy, agree/n)
	check("cohen_kappa", r.CohenKappa, kappa(func(i, j int) float64 {
		if i == j {
			return 0
		}
		return 1
	}))
	check("quadratic_kappa", r.QuadraticKappa, kappa(func(i, j int) float64 { return float64((i-j)*(i-j)) / 9 }))

	// Tie-aware NDCG@10: sort by judge grade; every document of a tied
	// group gets the group's mean gain; ideal from the human grades.
	sum, counted := 0.0, 0
	for _, docs := range byQuery {
		sort.Slice(docs, func(a, b int) bool { return docs[a][0] > docs[b][0] })
		dcg := 0.0
		for start := 0; start < len(docs); {
			end := start
			mean := 0.0
			for end < len(docs) && docs[end][0] == docs[start][0] {
				mean += docs[end][1]
				end++
			}
			mean /= float64(end - start)
			for pos := start; pos < end && pos < 10; pos++ {
				dcg += mean / math.Log2(float64(pos)+2)
			}
			start = end
		}
		gains := make([]float64, len(docs))
		for i, d := range docs {
			gains[i] = d[1]
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(gains)))
		idcg := 0.0
		for pos := 0; pos < len(gains) && pos < 10; pos++ {
			idcg += gains[pos] / math.Log2(float64(pos)+2)
		}
		if idcg > 0 {
			sum += dcg / idcg
			counted++
		}
	}
	check("ndcg_at_10", r.NDCG10, sum/float64(counted))
	if ci, ok := r.CI["cohen_kappa"]; !ok || ci[0] > r.CohenKappa || ci[1] < r.CohenKappa {
		t.Errorf("kappa %.3f outside its interval %v", r.CohenKappa, ci)
	}

	// The report and its pictures.
	report := filepath.Join(t.TempDir(), "report.md")
	if _, stderr, err := runCLI(t, "--db", db, "eval", "--reference", "human:imported", "--bootstrap", "0", "--report", report); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr)
	}
	md, err := os.ReadFile(report)
	if err != nil || !strings.Contains(string(md), "| gpt4o |") || !strings.Contains(string(md), "report-confusion-gpt4o.png") {
		t.Fatalf("report %v:\n%s", err, md)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(report), "report-confusion-gpt4o.png")); err != nil {
		t.Fatal(err)
	}
}

// TestEvalErrors: clear messages, never NaN, for empty overlap and unknown
// labelers.
func TestEvalErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "w.db")
	if _, _, err := runCLI(t, "--db", db, "init"); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{
		"eval":                                   "needs --reference",
		"eval --reference nobody":                "no such labeler",
		"eval --reference lexical":               "has no grades",
		"eval --reference lexical --threshold 9": "outside the workspace scale",
	} {
		_, _, err := runCLI(t, append([]string{"--db", db}, strings.Fields(args)...)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", args, err, want)
		}
	}
	out, _, err := runCLI(t, "--db", db, "eval", "--agreement", "--json")
	if err != nil || strings.Contains(out, "NaN") {
		t.Fatalf("agreement: %v %s", err, out)
	}
}
