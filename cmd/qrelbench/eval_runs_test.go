package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store/storetest"
)

// evalRunsJSON is `eval runs --json --per-query` as the issue shapes it.
type evalRunsJSON struct {
	Qrels     string                                   `json:"qrels"`
	Threshold int                                      `json:"threshold"`
	Systems   []map[string]any                         `json:"systems"`
	PerQuery  map[string]map[string]map[string]float64 `json:"per_query"`
	Compare   []struct {
		Labeler      string   `json:"labeler"`
		Queries      int      `json:"queries"`
		KendallTau   *float64 `json:"kendall_tau"`
		TauAP        *float64 `json:"tau_ap"`
		Spearman     *float64 `json:"spearman"`
		FlippedPairs int      `json:"flipped_pairs"`
		SystemPairs  int      `json:"system_pairs"`
	} `json:"compare"`
	Pairs []map[string]any `json:"paired_tests"`
}

func evalRuns(t *testing.T, db string, args ...string) evalRunsJSON {
	t.Helper()
	out, stderr, err := runCLI(t, append([]string{"--db", db, "eval", "runs", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("eval runs %v: %v\n%s", args, err, stderr)
	}
	var got evalRunsJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("eval runs --json is not JSON: %v\n%s", err, out)
	}
	return got
}

// realRunsWorkspace imports test-visible's pairs (human grades) and its
// nine systems through the CLI.
func realRunsWorkspace(t *testing.T) (data, db string) {
	t.Helper()
	data = storetest.DataDir(t)
	pairs := filepath.Join(data, "llmjudge", "test-visible.jsonl")
	run := filepath.Join(data, "runs", "test-visible.run")
	for _, p := range []string{pairs, run, filepath.Join(data, "runs", "test-visible.trec_eval.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	db = filepath.Join(t.TempDir(), "w.db")
	for _, args := range [][]string{{"init"}, {"import", "pairs", pairs}, {"import", "run", run}} {
		if _, stderr, err := runCLI(t, append([]string{"--db", db}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	return data, db
}

// TestEvalRunsReproducesTrecEval: every number trec_eval 10.0 printed for
// the nine test-visible systems, averaged and per query, at -l 1 and -l 2,
// comes out of `eval runs --qrels human:imported --json --per-query`.
func TestEvalRunsReproducesTrecEval(t *testing.T) {
	data, db := realRunsWorkspace(t)
	raw, err := os.ReadFile(filepath.Join(data, "runs", "test-visible.trec_eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Levels map[string]map[string]struct {
			All      map[string]float64            `json:"all"`
			PerQuery map[string]map[string]float64 `json:"per_query"`
		} `json:"levels"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, level := range []string{"1", "2"} {
		got := evalRuns(t, db, "--qrels", "human:imported", "--per-query", "--threshold", level, "--pairs", "none")
		if got.Qrels != "human:imported" || got.Threshold != int(level[0]-'0') || len(got.Systems) != 9 {
			t.Fatalf("-l %s: header %s %d, %d systems", level, got.Qrels, got.Threshold, len(got.Systems))
		}
		bySystem := map[string]map[string]any{}
		for _, s := range got.Systems {
			bySystem[s["system"].(string)] = s
			if _, ok := s["unjudged_at_10"]; !ok {
				t.Fatalf("system %v has no unjudged_at_10", s["system"])
			}
		}
		for system, w := range want.Levels[level] {
			s := bySystem[system]
			if s == nil {
				t.Fatalf("-l %s: no system %s in the output", level, system)
			}
			if s["queries"].(float64) != float64(len(w.PerQuery)) {
				t.Errorf("-l %s %s: %v queries, trec_eval averaged %d", level, system, s["queries"], len(w.PerQuery))
			}
			for m, v := range w.All {
				if g, ok := s[m].(float64); !ok || math.Abs(g-v) > 1e-4 {
					t.Errorf("-l %s %s %s: %v, trec_eval %.4f", level, system, m, s[m], v)
				}
				checked++
			}
			for q, ms := range w.PerQuery {
				for m, v := range ms {
					if g, ok := got.PerQuery[system][q][m]; !ok || math.Abs(g-v) > 1e-4 {
						t.Errorf("-l %s %s %s %s: %v (present %v), trec_eval %.4f", level, system, q, m, g, ok, v)
					}
					checked++
				}
			}
		}
	}
	if checked < 2*9*5*14 {
		t.Fatalf("only %d numbers checked", checked)
	}
}

// TestEvalRunsCompareAndCorrect compares the human ranking of the systems
// with a published judge's (imported with `import qrels`) and with an exact
// copy of the human grades, which must agree perfectly; then corrects the
// judge's estimates with the human grades of half the queries and checks
// the prediction-powered numbers against the formula computed here from the
// per-query values.
func TestEvalRunsCompareAndCorrect(t *testing.T) {
	data, db := realRunsWorkspace(t)
	judge := filepath.Join(data, "llmjudge", "runs-visible", "RMITIR-GPT4o.qrels")
	if _, err := os.Stat(judge); err != nil {
		t.Skipf("no %s", judge)
	}
	dir := t.TempDir()
	humanCopy := filepath.Join(dir, "human.qrels")
	for _, args := range [][]string{
		{"import", "qrels", judge, "--labeler", "gpt4o"},
		{"export", "qrels", "--labeler", "human:imported", "--out", humanCopy},
		{"import", "qrels", humanCopy, "--labeler", "copy"},
	} {
		if _, stderr, err := runCLI(t, append([]string{"--db", db}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	got := evalRuns(t, db, "--qrels", "human:imported", "--compare", "gpt4o,copy", "--pairs", "adjacent")
	if len(got.Compare) != 2 || got.Compare[0].Labeler != "gpt4o" || got.Compare[1].Labeler != "copy" {
		t.Fatalf("compare %+v", got.Compare)
	}
	cp := got.Compare[1]
	if cp.Queries != 13 || cp.SystemPairs != 36 || cp.FlippedPairs != 0 || *cp.KendallTau != 1 || *cp.TauAP != 1 || *cp.Spearman != 1 {
		t.Fatalf("the human grades' copy does not agree with them: %+v", cp)
	}
	g := got.Compare[0]
	if g.SystemPairs != 36 || g.KendallTau == nil || *g.KendallTau >= 1 || *g.KendallTau < 0.3 || g.FlippedPairs == 0 {
		t.Fatalf("judge verdict %+v", g)
	}
	if len(got.Pairs) != 8 {
		t.Fatalf("%d adjacent pair tests for 9 systems", len(got.Pairs))
	}

	// Human grades on the first half of the queries only.
	raw, _ := os.ReadFile(humanCopy)
	var qids []string
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if q := strings.Fields(line)[0]; !seen[q] {
			seen[q] = true
			qids = append(qids, q)
		}
	}
	sort.Strings(qids)
	keep := map[string]bool{}
	for _, q := range qids[:6] {
		keep[q] = true
	}
	var half strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if keep[strings.Fields(line)[0]] {
			half.WriteString(line + "\n")
		}
	}
	halfFile := cliFile(t, dir, "half.qrels", half.String())
	if _, stderr, err := runCLI(t, "--db", db, "import", "qrels", halfFile, "--labeler", "human:sample"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err := runCLI(t, "--db", db, "eval", "runs", "--qrels", "gpt4o", "--correct-with", "human:sample", "--json", "--per-query", "--pairs", "none")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var ppi struct {
		Systems []struct {
			System string `json:"system"`
			PPI    struct {
				Estimate  float64    `json:"estimate"`
				CI        [2]float64 `json:"ci"`
				HumanOnly struct {
					Estimate float64    `json:"estimate"`
					CI       [2]float64 `json:"ci"`
				} `json:"human_only"`
				SmallN int `json:"n"`
				BigN   int `json:"N"`
			} `json:"ppi"`
		} `json:"systems"`
		PerQuery map[string]map[string]map[string]float64 `json:"per_query"`
	}
	if err := json.Unmarshal([]byte(out), &ppi); err != nil {
		t.Fatal(err)
	}
	human := evalRuns(t, db, "--qrels", "human:sample", "--per-query", "--pairs", "none")
	if len(ppi.Systems) != 9 {
		t.Fatalf("%d systems", len(ppi.Systems))
	}
	for _, s := range ppi.Systems {
		var u, d []float64
		for q, ms := range ppi.PerQuery[s.System] {
			if h, ok := human.PerQuery[s.System][q]; ok {
				d = append(d, h["ndcg_cut_10"]-ms["ndcg_cut_10"])
			} else {
				u = append(u, ms["ndcg_cut_10"])
			}
		}
		mu, vu := meanVar(u)
		md, vd := meanVar(d)
		est := mu + md
		half := 1.959964 * math.Sqrt(vu/float64(len(u))+vd/float64(len(d)))
		p := s.PPI
		if p.SmallN != 6 || p.BigN != 7 || math.Abs(p.Estimate-est) > 1e-9 || math.Abs(p.CI[0]-(est-half)) > 1e-6 || math.Abs(p.CI[1]-(est+half)) > 1e-6 {
			t.Errorf("%s: ppi %+v, want estimate %.6f ± %.6f over n=%d N=%d", s.System, p, est, half, len(d), len(u))
		}
		var hv []float64
		for _, ms := range human.PerQuery[s.System] {
			hv = append(hv, ms["ndcg_cut_10"])
		}
		if hm, _ := meanVar(hv); math.Abs(p.HumanOnly.Estimate-hm) > 1e-9 || p.HumanOnly.CI[0] > hm || p.HumanOnly.CI[1] < hm {
			t.Errorf("%s: human-only %+v, want mean %.6f", s.System, p.HumanOnly, hm)
		}
	}
	text, _, err := runCLI(t, "--db", db, "eval", "runs", "--qrels", "gpt4o", "--correct-with", "human:sample", "--pairs", "none")
	if err != nil || !strings.Contains(text, "prediction-powered inference") || !strings.Contains(text, "human-only") || !strings.Contains(text, "few queries (6 < 30)") {
		t.Fatalf("text: %v\n%s", err, text)
	}
}

func meanVar(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(x)-1)
}

func TestEvalRunsErrorsAndReport(t *testing.T) {
	dir, db, run := systemsWorkspace(t)
	mustCLI(t, db, "import", "run", run)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "runs"}, "needs --qrels"},
		{[]string{"eval", "runs", "--qrels", "nobody"}, `no such labeler "nobody"`},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--systems", "nope"}, `no system "nope"`},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--query", "q9"}, `no query "q9"`},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--threshold", "7"}, "--threshold"},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--ndcg-cut", "5,x"}, "--ndcg-cut"},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--measure", "ndcg"}, "--measure"},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--pairs", "some"}, "--pairs"},
		{[]string{"eval", "runs", "--qrels", "lexical"}, "has no grades"},
		{[]string{"eval", "runs", "--qrels", "human:imported", "--correct-with", "human:imported"}, "same labeler"},
	} {
		if _, _, err := coreCLI(t, db, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	// The old eval flags still work beside the new verb.
	if _, _, err := coreCLI(t, db, "eval", "--reference", "human:imported", "--labelers", "all"); err != nil && !strings.Contains(err.Error(), "no labeler shares") {
		t.Fatalf("eval --reference: %v", err)
	}
	report := filepath.Join(dir, "runs.md")
	out := mustCLI(t, db, "eval", "runs", "--qrels", "human:imported", "--ndcg-cut", "5,10", "--report", report, "--per-query")
	md, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Search systems under human:imported's grades", "| # | system | queries | ndcg_cut_5 | ndcg_cut_10 |", "## paired tests on ndcg_cut_10", "## good per query"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// good ranks d3 (grade 2), d2 (1), d1 (0) on q1: ideal; on q2 only d3,
	// missing d2's gain: (1 + 0) / (1 + 1/log2(3)) = 0.7602; mean 0.8801.
	// bad ranks d1 (0) on q1: 0; d1 then d2 on q2: (1/log2(3)) / 1.6309.
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "1 good 2 0.8801 0.8801 0.1000 1.0000") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[3]), " "), "2 bad 2 0.1199 0.1199") {
		t.Fatalf("text table:\n%s", out)
	}
}
