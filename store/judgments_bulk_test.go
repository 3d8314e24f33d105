package store

import (
	"context"
	"fmt"
	"testing"
)

// TestPutJudgmentsAsOneByOne: a batch (larger than one statement, with a
// pair twice, an update of a graded pair) leaves the judgments, the
// history and its ids exactly as PutJudgment one judgment at a time does,
// both a model run's judgments and the lean ones of in-process graders.
func TestPutJudgmentsAsOneByOne(t *testing.T) {
	for _, lean := range []bool{false, true} {
		t.Run(fmt.Sprint("lean=", lean), func(t *testing.T) { testPutJudgments(t, lean) })
	}
}

func testPutJudgments(t *testing.T, lean bool) {
	ctx := context.Background()
	build := func() (*Store, []Judgment) {
		st := newTestStore(t, "0-3")
		lab := Labeler{Name: "m", Kind: KindLLM, Model: "x"}
		if err := st.AddLabeler(ctx, &lab); err != nil {
			t.Fatal(err)
		}
		q := Query{ExtID: "q", Text: "q"}
		if _, err := st.PutQuery(ctx, &q, false); err != nil {
			t.Fatal(err)
		}
		var pairs []int64
		for i := range 300 {
			d := Document{ExtID: fmt.Sprintf("d%d", i), Body: "text"}
			if _, err := st.PutDocument(ctx, &d, false); err != nil {
				t.Fatal(err)
			}
			p := Pair{QueryID: q.ID, DocID: d.ID, Source: SourceImported}
			if _, err := st.PutPair(ctx, &p); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs, p.ID)
		}
		// pair 0 is graded before the batch
		if err := st.PutJudgment(ctx, &Judgment{PairID: pairs[0], LabelerID: lab.ID, Grade: 1, Status: StatusOK, Note: "before"}); err != nil {
			t.Fatal(err)
		}
		run := Run{Kind: RunLabeling, LabelerID: lab.ID}
		if err := st.StartRun(ctx, &run); err != nil {
			t.Fatal(err)
		}
		var js []Judgment
		for i, p := range pairs {
			j := Judgment{PairID: p, LabelerID: lab.ID, Grade: i % 4, Status: StatusOK, Probs: []float64{0.25, 0.25, 0.25, 0.25},
				Expected: float64(i%4) + 0.5, HasExpected: i%7 != 0, RunID: run.ID, PromptVersion: "v1"}
			if !lean {
				j.TokensIn, j.Reason = i, fmt.Sprint("r", i)
			}
			js = append(js, j)
			if i == 5 && lean {
				js = append(js, Judgment{PairID: p, LabelerID: lab.ID, Grade: 3, Status: StatusOK, RunID: run.ID, PromptVersion: "v1"})
			}
			if i == 5 && !lean {
				// a failed attempt retried at once, then the verdict, in one batch
				js[len(js)-1] = Judgment{PairID: p, LabelerID: lab.ID, Status: StatusUnparseable, Retrying: true, Raw: "??"}
				js = append(js, Judgment{PairID: p, LabelerID: lab.ID, Grade: 2, Status: StatusOK})
			}
		}
		return st, js
	}
	bulk, js := build()
	if err := bulk.PutJudgments(ctx, js); err != nil {
		t.Fatal(err)
	}
	one, js1 := build()
	for i := range js1 {
		if err := one.PutJudgment(ctx, &js1[i]); err != nil {
			t.Fatal(err)
		}
	}
	if leanJudgments(js) != lean {
		t.Fatalf("lean %v judgments taken for lean %v", lean, !lean)
	}
	for i := range js {
		if js[i].HistoryID != js1[i].HistoryID || js[i].HistoryID == 0 {
			t.Fatalf("judgment %d: history id %d in a batch, %d one by one", i, js[i].HistoryID, js1[i].HistoryID)
		}
	}
	dump := func(st *Store, q string) []string {
		rows, err := st.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		return out
	}
	for _, q := range []string{
		`SELECT id, pair_id, labeler_id, action, grade, status, note, prev_grade, prev_status, prev_note, undone, run_id, retrying FROM judgment_history ORDER BY id`,
		`SELECT pair_id, labeler_id, grade, status, probs, expected, reason, raw, note, tokens_in, tokens_out, latency_ms, cost_usd, attempts, prompt_version, run_id, retrying FROM judgments ORDER BY pair_id, labeler_id`,
	} {
		a, b := dump(bulk, q), dump(one, q)
		if len(a) != len(b) || len(a) < 300 {
			t.Fatalf("%d rows in a batch, %d one by one: %s", len(a), len(b), q)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("row %d: %s in a batch, %s one by one", i, a[i], b[i])
			}
		}
	}
	// and the second change of pair 5 undoes back to its first
	c, err := bulk.UndoChange(ctx, js[6].LabelerID, js[6].HistoryID)
	if err != nil || !c.Had || c.PrevStatus != js[5].Status || c.PrevGrade != js[5].Grade {
		t.Fatalf("undo of pair 5's second change: %+v %v", c, err)
	}
}
