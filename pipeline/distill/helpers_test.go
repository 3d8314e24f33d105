package distill

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// fixture is a small workspace: nq queries of nd documents each. Query qI
// is "alpha{I} beta{I} gamma{I}"; document j of query I contains the first
// j%4 of those terms, and the teacher grades it j%4, so the grades follow
// the text. Some teacher judgments fail and humans grade some pairs.
type fixture struct {
	st      *store.Store
	pairs   map[string]int64 // "qI/dI_J" -> pair id
	teacher store.Labeler
	human   store.Labeler
	failed  map[int64]bool // pairs whose teacher judgment is an error
	humanOK map[int64]bool // pairs with a human grade
}

func newFixture(t testing.TB, nq, nd int) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "ws.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, pairs: map[string]int64{}, failed: map[int64]bool{}, humanOK: map[int64]bool{}}
	f.teacher = store.Labeler{Name: "teacher", Kind: store.KindLLM, Role: "teacher", BaseURL: "http://127.0.0.1:1/v1", Model: "big"}
	f.human = store.Labeler{Name: "human:alice", Kind: store.KindHuman}
	var js []store.Judgment
	err = st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.AddLabeler(ctx, &f.teacher); err != nil {
			return err
		}
		if err := tx.AddLabeler(ctx, &f.human); err != nil {
			return err
		}
		for i := range nq {
			terms := []string{fmt.Sprintf("alpha%d", i), fmt.Sprintf("beta%d", i), fmt.Sprintf("gamma%d", i)}
			q := store.Query{ExtID: fmt.Sprintf("q%d", i), Text: strings.Join(terms, " ")}
			if _, err := tx.PutQuery(ctx, &q, false); err != nil {
				return err
			}
			for j := range nd {
				g := j % 4
				body := "Notes about unrelated things, filler text for the index. " + strings.Join(terms[:g], " ") +
					strings.Repeat(" more filler", j%3) + " <document>tag-like text</document>"
				d := store.Document{ExtID: fmt.Sprintf("d%d_%d", i, j), Title: fmt.Sprintf("Doc %d/%d", i, j), Body: body}
				if _, err := tx.PutDocument(ctx, &d, false); err != nil {
					return err
				}
				p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				f.pairs[q.ExtID+"/"+d.ExtID] = p.ID
				tj := store.Judgment{PairID: p.ID, LabelerID: f.teacher.ID, Grade: g, Status: store.StatusOK}
				if j == 5 { // one failed teacher call per query
					tj = store.Judgment{PairID: p.ID, LabelerID: f.teacher.ID, Status: store.StatusError, Reason: "HTTP 500"}
					f.failed[p.ID] = true
				}
				js = append(js, tj)
				if i < 2 && j < 3 { // humans graded a few pairs of q0 and q1
					js = append(js, store.Judgment{PairID: p.ID, LabelerID: f.human.ID, Grade: g, Status: store.StatusOK})
					f.humanOK[p.ID] = true
				}
			}
		}
		return tx.PutJudgments(ctx, js)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// addStrictTeacher adds teacher labeler "strict", one lexical disagrees
// with: any query term makes a document perfectly relevant, except on
// every sixth query, graded like lexical. It becomes f.teacher.
func (f *fixture) addStrictTeacher(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	strict := store.Labeler{Name: "strict", Kind: store.KindLLM, Role: "teacher", BaseURL: "http://127.0.0.1:1/v1", Model: "big"}
	if err := f.st.AddLabeler(ctx, &strict); err != nil {
		t.Fatal(err)
	}
	var js []store.Judgment
	for key, id := range f.pairs {
		var q, j int
		if _, err := fmt.Sscanf(key, "q%d/d%d_%d", &q, &q, &j); err != nil {
			t.Fatal(err)
		}
		g := min(3, 3*(j%4))
		if q%6 == 0 { // some queries are graded like lexical: the held-out ones pull the student
			g = j % 4
		}
		js = append(js, store.Judgment{PairID: id, LabelerID: strict.ID, Grade: g, Status: store.StatusOK})
	}
	if err := f.st.PutJudgments(ctx, js); err != nil {
		t.Fatal(err)
	}
	f.teacher = strict
}
