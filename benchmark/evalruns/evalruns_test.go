package evalruns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// workspace has nq queries of four documents graded 0..3 by human:x, and
// two systems: "up" ranks them best first, "down" worst first.
func workspace(t *testing.T, nq int) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "ws.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, _ := st.EnsureLabeler(ctx, "human:x", store.KindHuman)
	var up, down []store.SystemResult
	for q := 0; q < nq; q++ {
		qq := store.Query{ExtID: fmt.Sprintf("q%02d", q), Text: "t"}
		st.PutQuery(ctx, &qq, false)
		for g := 0; g < 4; g++ {
			d := store.Document{ExtID: fmt.Sprintf("q%02d-d%d", q, g), Body: "b"}
			st.PutDocument(ctx, &d, false)
			p := store.Pair{QueryID: qq.ID, DocID: d.ID, Source: store.SourceImported}
			st.PutPair(ctx, &p)
			if err := st.PutJudgment(ctx, &store.Judgment{PairID: p.ID, LabelerID: h.ID, Grade: g, Status: store.StatusOK}); err != nil {
				t.Fatal(err)
			}
			up = append(up, store.SystemResult{QueryID: qq.ID, DocID: d.ID, Score: float64(g), Rank: 4 - g})
			down = append(down, store.SystemResult{QueryID: qq.ID, DocID: d.ID, Score: float64(-g), Rank: g + 1})
		}
	}
	for name, rs := range map[string][]store.SystemResult{"up": up, "down": down} {
		if _, err := st.PutSystem(ctx, &store.System{Name: name, ContentSHA256: name}, rs, false); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestFewQueriesMarked(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		nq     int
		marked bool
	}{{FewQueries - 1, true}, {FewQueries, false}} {
		rep, err := Evaluate(ctx, workspace(t, c.nq), Options{Qrels: "human:x"})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		WriteText(&b, rep.Tables(false))
		if got := strings.Contains(b.String(), "few queries") && strings.Contains(b.String(), "unreliable"); got != c.marked {
			t.Errorf("%d queries: marked %v, want %v\n%s", c.nq, got, c.marked, b.String())
		}
		if rep.Systems[0].System != "up" || rep.Systems[0].Mean["ndcg_cut_10"] != 1 || rep.Systems[1].Mean["ndcg_cut_10"] >= 1 {
			t.Fatalf("ranking %+v", rep.Systems)
		}
	}
}

// TestJSONUndefinedIsNull: a verdict over two systems tied under one
// labeler has undefined correlations, which JSON carries as null.
func TestJSONUndefinedIsNull(t *testing.T) {
	ctx := context.Background()
	st := workspace(t, 3)
	// flat grades every document 1: both systems tie.
	flat, _ := st.EnsureLabeler(ctx, "flat", store.KindImported)
	pairs, _ := st.PairIDs(ctx)
	for _, id := range pairs {
		st.PutJudgment(ctx, &store.Judgment{PairID: id, LabelerID: flat.ID, Grade: 1, Status: store.StatusOK})
	}
	rep, err := Evaluate(ctx, st, Options{Qrels: "human:x", Compare: []string{"flat", "nobody-graded"}})
	if err == nil {
		t.Fatal("an unknown compared labeler was accepted")
	}
	if rep, err = Evaluate(ctx, st, Options{Qrels: "human:x", Compare: []string{"flat"}}); err != nil {
		t.Fatal(err)
	}
	raw, err := rep.JSON(false)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Compare []map[string]any `json:"compare"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if len(got.Compare) != 1 || got.Compare[0]["kendall_tau"] != nil || got.Compare[0]["system_pairs"].(float64) != 1 {
		t.Fatalf("compare %s", raw)
	}
}
