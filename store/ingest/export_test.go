package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// exportFixture: two pairs, graded by an imported human, a model with an
// expected grade that float arithmetic left noisy, and an annotator who
// graded one pair with a note and marked the other unsure with a note, plus
// a failed model judgment. The texts hold what breaks naive CSV/TSV:
// commas, quotes, tabs and newlines.
func exportFixture(t *testing.T) *store.Store {
	t.Helper()
	st := newStore(t, "0-3")
	dir := t.TempDir()
	p := writeFile(t, dir, "p.jsonl",
		`{"query_id":"q1","query_text":"bees, \"honey\"","doc_id":"d1","doc_text":"bees fly\n\tand \"buzz\", loudly","title":"Bees","human_grade":3}`+"\n"+
			pairLine("q1", "bees, \"honey\"", "d2", "ants walk", 0))
	if _, err := ImportPairs(ctx, st, p, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	views, err := st.PairViews(ctx, store.PairFilter{})
	if err != nil || len(views) != 2 {
		t.Fatal(len(views), err)
	}
	model := store.Labeler{Name: "student", Kind: store.KindStudent, Role: "student"}
	alice := store.Labeler{Name: "human:alice", Kind: store.KindHuman}
	for _, l := range []*store.Labeler{&model, &alice} {
		if err := st.AddLabeler(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	// The expected grade of probabilities .05 .15 .225 .575 is 2.325, which
	// binary floating point computes as 2.3249999999999997.
	probs := []float64{0.05, 0.15, 0.225, 0.575}
	noisy := 0.0
	for g, p := range probs {
		noisy += float64(g) * p
	}
	js := []store.Judgment{
		{PairID: views[0].ID, LabelerID: model.ID, Grade: 2, Status: store.StatusOK, Probs: probs, Expected: noisy, HasExpected: true},
		{PairID: views[1].ID, LabelerID: model.ID, Status: store.StatusUnparseable, Raw: "maybe?"},
		{PairID: views[0].ID, LabelerID: alice.ID, Grade: 2, Status: store.StatusOK, Note: "mentions \"honey\",\tnot bees\nat all"},
		{PairID: views[1].ID, LabelerID: alice.ID, Status: store.StatusUnsure, Note: "ask Ana"},
	}
	for i := range js {
		if err := st.PutJudgment(ctx, &js[i]); err != nil {
			t.Fatal(err)
		}
	}
	if s := score(noisy).String(); s != "2.325" || noisy == 2.325 {
		t.Fatalf("fixture: noisy expected %v prints %s", noisy, s)
	}
	return st
}

// TestExportPairsNotesAndUnsure: the JSONL export keeps every note and every
// unsure mark (which are not failures), and expected grades without float
// noise.
func TestExportPairsNotesAndUnsure(t *testing.T) {
	st := exportFixture(t)
	var out bytes.Buffer
	if n, err := ExportPairs(ctx, st, &out, FormatJSONL); err != nil || n != 2 {
		t.Fatal(n, err)
	}
	if !strings.Contains(out.String(), `"expected":{"student":2.325}`) {
		t.Errorf("expected grade not rounded:\n%s", out.String())
	}
	var rows []exportedPair
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var e exportedPair
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, e)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	a, b := rows[0], rows[1]
	if a.Grades["human:alice"] != 2 || a.Notes["human:alice"] != "mentions \"honey\",\tnot bees\nat all" || a.Grades["student"] != 2 {
		t.Errorf("pair 1: %+v", a)
	}
	if len(b.Unsure) != 1 || b.Unsure[0] != "human:alice" || b.Notes["human:alice"] != "ask Ana" {
		t.Errorf("pair 2 unsure/note lost: %+v", b)
	}
	if _, ok := b.Failed["human:alice"]; ok || b.Failed["student"] != store.StatusUnparseable {
		t.Errorf("pair 2 failures: %v (unsure is not a failure)", b.Failed)
	}
	if _, ok := b.Grades["human:alice"]; ok {
		t.Errorf("unsure exported as a grade: %v", b.Grades)
	}
}

// TestExportPairsCSVTSV: CSV and TSV have one row per pair and, per
// labeler, a grade column and (only when it has any) expected and note
// columns; texts with commas, quotes, tabs and newlines come back intact
// through a standard reader.
func TestExportPairsCSVTSV(t *testing.T) {
	st := exportFixture(t)
	for _, f := range []Format{FormatCSV, FormatTSV} {
		var out bytes.Buffer
		if n, err := ExportPairs(ctx, st, &out, f); err != nil || n != 2 {
			t.Fatal(f, n, err)
		}
		r := csv.NewReader(&out)
		if f == FormatTSV {
			r.Comma = '\t'
		}
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", f, err, out.String())
		}
		if len(recs) != 3 {
			t.Fatalf("%s: %d records", f, len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for _, h := range []string{"query_id", "query_text", "doc_id", "doc_text", "grade:human:alice", "note:human:alice", "grade:human:imported", "grade:student", "expected:student"} {
			if _, ok := col[h]; !ok {
				t.Fatalf("%s: no column %q in %v", f, h, recs[0])
			}
		}
		for _, h := range []string{"note:student", "expected:human:alice", "note:human:imported"} {
			if _, ok := col[h]; ok {
				t.Errorf("%s: empty column %q", f, h)
			}
		}
		a, b := recs[1], recs[2]
		want := map[string][2]string{
			"query_text":           {`bees, "honey"`, `bees, "honey"`},
			"doc_text":             {"bees fly\n\tand \"buzz\", loudly", "ants walk"},
			"grade:human:alice":    {"2", "unsure"},
			"note:human:alice":     {"mentions \"honey\",\tnot bees\nat all", "ask Ana"},
			"grade:human:imported": {"3", "0"},
			"grade:student":        {"2", "unparseable"},
			"expected:student":     {"2.325", ""},
		}
		for h, v := range want {
			if a[col[h]] != v[0] || b[col[h]] != v[1] {
				t.Errorf("%s %s: %q, %q; want %q, %q", f, h, a[col[h]], b[col[h]], v[0], v[1])
			}
		}
	}
	if _, err := ParseFormat("xlsx"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestExportPairsWithNotesReimports: the new fields are not taken for
// document metadata when the export is imported again.
func TestExportPairsWithNotesReimports(t *testing.T) {
	st := exportFixture(t)
	var buf bytes.Buffer
	if _, err := ExportPairs(ctx, st, &buf, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, t.TempDir(), "e.jsonl", buf.String())
	sum, err := ImportPairs(ctx, st, path, "human:imported", false)
	if err != nil || sum.Changed() {
		t.Fatalf("re-import: %v %v", sum, err)
	}
	d, err := st.DocumentByExtID(ctx, "d2")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"notes", "unsure", "failed"} {
		if _, ok := d.Meta[k]; ok {
			t.Errorf("%s became metadata: %v", k, d.Meta)
		}
	}
}
