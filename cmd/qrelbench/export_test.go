package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestCLIExportPairsFormats: `export pairs --format csv|tsv` writes a table
// a spreadsheet reads, --out says how many pairs, and an unknown format is
// refused before anything is written.
func TestCLIExportPairsFormats(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	pairs := cliFile(t, dir, "pairs.jsonl",
		`{"query_id":"q1","query_text":"how is honey made","doc_id":"d1","doc_text":"bees, make\thoney","human_grade":3}`+"\n")
	mustCLI(t, db, "import", "pairs", pairs)
	for _, f := range []string{"csv", "tsv"} {
		out := mustCLI(t, db, "export", "pairs", "--format", f)
		r := csv.NewReader(strings.NewReader(out))
		if f == "tsv" {
			r.Comma = '\t'
		}
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("%s: %v %q", f, err, out)
		}
		if recs[0][len(recs[0])-1] != "grade:human:imported" || recs[1][len(recs[1])-1] != "3" || recs[1][11] != "bees, make\thoney" {
			t.Fatalf("%s: %q", f, recs)
		}
	}
	file := filepath.Join(dir, "p.csv")
	if _, errOut, err := coreCLI(t, db, "export", "pairs", "--format", "csv", "--out", file); err != nil || !strings.Contains(errOut, "wrote 1 pair to "+file) {
		t.Fatalf("--out: %v %q", err, errOut)
	}
	bad := filepath.Join(dir, "bad.xlsx")
	if _, _, err := coreCLI(t, db, "export", "pairs", "--format", "xlsx", "--out", bad); err == nil || !strings.Contains(err.Error(), "jsonl, csv or tsv") {
		t.Fatalf("unknown format: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Fatal("an unknown format left a file")
	}
}

// TestCLIEvalSmallNumbers: on two pairs every figure is marked unreliable
// with the note that says why, a grade no reference pair has shows no
// recall (not 0.00), undefined metrics are null in --json, and scoring an
// adjudicator against the gold they set is called circular.
func TestCLIEvalSmallNumbers(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	pairs := cliFile(t, dir, "pairs.jsonl",
		`{"query_id":"q1","query_text":"honey","doc_id":"d1","doc_text":"bees make honey","human_grade":2}`+"\n"+
			`{"query_id":"q1","query_text":"honey","doc_id":"d2","doc_text":"ants build nests","human_grade":0}`+"\n")
	mustCLI(t, db, "import", "pairs", pairs)
	mustCLI(t, db, "import", "qrels", cliFile(t, dir, "j.qrels", "q1 0 d1 2\nq1 0 d2 1\n"), "--labeler", "judge")
	out := mustCLI(t, db, "eval", "--reference", "human:imported", "--labelers", "judge", "--bootstrap", "50")
	for _, want := range []string{"1.000*", "* unreliable: fewer than 30 pairs", "recall —  (no reference pair has grade 3)", "— undefined on this data"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "recall 0.00\n") {
		t.Errorf("a grade nobody has shows a recall:\n%s", out)
	}
	js := mustCLI(t, db, "eval", "--reference", "human:imported", "--labelers", "judge", "--json")
	var ev struct {
		Labelers []map[string]any `json:"labelers"`
	}
	if err := json.Unmarshal([]byte(js), &ev); err != nil || len(ev.Labelers) != 1 {
		t.Fatalf("json: %v\n%s", err, js)
	}
	l := ev.Labelers[0]
	if pg := l["per_grade_accuracy"].([]any); pg[3] != nil || pg[1] != nil {
		t.Errorf("per_grade_accuracy %v: grades 1 and 3 have no reference pair", pg)
	}

	// An adjudicator scored against the gold they set.
	ctx := context.Background()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := st.EnsureLabeler(ctx, "human:bob", store.KindHuman)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetAdjudicator(ctx, "human:bob", true); err != nil {
		t.Fatal(err)
	}
	views, _ := st.PairViews(ctx, store.PairFilter{})
	for _, v := range views {
		if err := st.PutJudgment(ctx, &store.Judgment{PairID: v.ID, LabelerID: bob.ID, Grade: 1, Status: store.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Adjudicate(ctx, views[0].ID, bob.ID, 1, ""); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out = mustCLI(t, db, "eval", "--reference", "human:gold", "--labelers", "human:bob,judge", "--bootstrap", "0")
	if !strings.Contains(out, "circular: human:bob decided 1 of the 1 gold grades as adjudicator") || strings.Contains(out, "circular: judge") {
		t.Errorf("circular note:\n%s", out)
	}
}
