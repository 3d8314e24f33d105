package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// browseWorkspace: 3 queries × 3 documents (pair ids in query, doc order)
// and one human labeler.
func browseWorkspace(t *testing.T) (*Store, []int64, Labeler) {
	t.Helper()
	ctx := context.Background()
	st, err := Create(ctx, filepath.Join(t.TempDir(), "b.db"), Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ids []int64
	titles := []string{"zebra", "", "Apple"}
	err = st.Tx(ctx, func(tx *Store) error {
		var docs []int64
		for d := 0; d < 3; d++ {
			doc := Document{ExtID: fmt.Sprintf("d%d", d), Title: titles[d], Body: "text"}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			docs = append(docs, doc.ID)
		}
		for q := 0; q < 3; q++ {
			qq := Query{ExtID: fmt.Sprintf("q%d", q), Text: fmt.Sprintf("query %d", q)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range docs {
				p := Pair{QueryID: qq.ID, DocID: d, Source: SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				ids = append(ids, p.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.EnsureLabeler(ctx, "human:ann", KindHuman)
	if err != nil {
		t.Fatal(err)
	}
	return st, ids, h
}

func TestLabelerPositions(t *testing.T) {
	ctx := context.Background()
	st, ids, h := browseWorkspace(t)
	put := func(p int64, status string, g int) {
		t.Helper()
		if err := st.PutJudgment(ctx, &Judgment{PairID: p, LabelerID: h.ID, Grade: g, Status: status, LatencyMS: 2000}); err != nil {
			t.Fatal(err)
		}
	}
	put(ids[1], StatusOK, 2)
	put(ids[4], StatusUnsure, 0)
	unsure, err := st.PairsWithStatus(ctx, h.ID, StatusUnsure, 10)
	if err != nil || len(unsure) != 1 || unsure[0].ID != ids[4] {
		t.Fatalf("unsure %v %v", unsure, err)
	}
	ls, ok, err := st.LastSet(ctx, h.ID)
	if err != nil || !ok || ls.ID != ids[4] {
		t.Fatalf("last set %v %v %v", ls, ok, err)
	}
	p, err := st.LabelerProgress(ctx, h.ID)
	if err != nil || p.Pairs != 9 || p.Graded != 1 || p.Unsure != 1 || p.Left() != 7 {
		t.Fatalf("progress %+v %v", p, err)
	}
	if _, _, err := st.Undo(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	if ls, _, _ = st.LastSet(ctx, h.ID); ls.ID != ids[1] {
		t.Fatalf("last set after undo %v", ls)
	}
	acts, err := st.HumanActivity(ctx)
	if err != nil || len(acts) != 1 || acts[0].Graded != 1 || acts[0].Unsure != 0 || acts[0].TotalMS != 2000 {
		t.Fatalf("activity %+v %v", acts, err)
	}
}

func TestScansAndChanges(t *testing.T) {
	ctx := context.Background()
	st, ids, h := browseWorkspace(t)
	head0, err := st.HistoryHead(ctx)
	if err != nil || head0 != 0 {
		t.Fatalf("head %d %v", head0, err)
	}
	if err := st.PutJudgment(ctx, &Judgment{PairID: ids[0], LabelerID: h.ID, Grade: 3, Status: StatusOK}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutJudgment(ctx, &Judgment{PairID: ids[2], LabelerID: h.ID, Status: StatusUnsure}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutJudgment(ctx, &Judgment{PairID: ids[3], LabelerID: h.ID, Grade: 1, Status: StatusOK, Probs: []float64{0.1, 0.6, 0.2, 0.1}}); err != nil {
		t.Fatal(err)
	}
	var pairs []int64
	if err := st.ScanPairIDs(ctx, 0, func(id, q, d int64) { pairs = append(pairs, id) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pairs) != fmt.Sprint(ids) {
		t.Fatalf("pairs %v", pairs)
	}
	got := map[int64]string{}
	err = st.ScanLabelerCells(ctx, h.ID, true, func(p int64, code int, probs string) { got[p] = fmt.Sprintf("%d %s", code, probs) })
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{ids[0]: "3 ", ids[2]: fmt.Sprintf("%d ", CodeUnsure), ids[3]: "1 [0.1,0.6,0.2,0.1]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cells %v, want %v", got, want)
	}
	// Changes since the start: three cells; an undo removes one.
	cells, head, more, err := st.CellsChangedSince(ctx, 0, 100, nil)
	if err != nil || more || len(cells) != 3 || head == 0 {
		t.Fatalf("changes %v %d %v %v", cells, head, more, err)
	}
	if _, _, err := st.Undo(ctx, h.ID); err != nil {
		t.Fatal(err)
	}
	cells, head2, _, err := st.CellsChangedSince(ctx, head, 100, nil)
	if err != nil || len(cells) != 1 || cells[0].PairID != ids[3] || cells[0].Status != "" || head2 <= head {
		t.Fatalf("changes after undo %+v %v", cells, err)
	}
	// Paging: limit 1 reports more.
	if _, _, more, _ := st.CellsChangedSince(ctx, 0, 1, nil); !more {
		t.Fatal("limit 1: no more")
	}
	titles, err := st.DocTitles(ctx, []int64{1, 2, 3})
	if err != nil || titles[2] != "d1" || titles[1] != "zebra" {
		t.Fatalf("titles %v %v", titles, err)
	}
	order, err := st.DocsByTitle(ctx)
	if err != nil || fmt.Sprint(order) != "[3 2 1]" { // Apple, d1, zebra
		t.Fatalf("by title %v %v", order, err)
	}
	qt, err := st.QueryTexts(ctx, 0)
	if err != nil || len(qt) != 3 {
		t.Fatalf("query texts %v %v", qt, err)
	}
}
