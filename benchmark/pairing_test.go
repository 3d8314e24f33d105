package benchmark

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestEvaluateReadsWhatGradesSays checks the bulk pairing against the plain
// reading of the same workspace (store.Grades, matched by pair id, sorted by
// query and document): the same items in the same order, so the same
// results to the last bit, with missing grades, failed and unsure
// judgments, expected grades, ids that sort differently as text and as
// numbers, deleted documents and a query filter.
func TestEvaluateReadsWhatGradesSays(t *testing.T) {
	ctx := context.Background()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "ws.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	labs := []store.Labeler{{Name: "human:ref", Kind: store.KindHuman}, {Name: "student", Kind: store.KindStudent}, {Name: "llm", Kind: store.KindLLM, Model: "m"},
		{Name: "human:b", Kind: store.KindHuman}, {Name: "llm2", Kind: store.KindLLM, Model: "m2"}}
	rng := rand.New(rand.NewSource(7))
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := range labs {
			if err := tx.AddLabeler(ctx, &labs[i]); err != nil {
				return err
			}
		}
		var docs []int64
		for d := 0; d < 60; d++ {
			doc := store.Document{ExtID: fmt.Sprintf("p%d", 60-d), Body: fmt.Sprintf("passage %d", d)}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			docs = append(docs, doc.ID)
		}
		for q := 0; q < 25; q++ {
			qq := store.Query{ExtID: fmt.Sprintf("q%d", (q*7)%25), Text: fmt.Sprintf("query %d", q)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range rng.Perm(len(docs))[:15+rng.Intn(20)] {
				p := store.Pair{QueryID: qq.ID, DocID: docs[d], Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				for li, l := range labs {
					if rng.Intn(5) == 0 {
						continue
					}
					j := store.Judgment{PairID: p.ID, LabelerID: l.ID, Grade: rng.Intn(4), Status: store.StatusOK}
					switch rng.Intn(12) {
					case 0:
						j.Status, j.Grade = store.StatusUnsure, 0
					case 1:
						j.Status, j.Grade, j.Raw = "unparseable", 0, "??"
					}
					if li == 1 && j.Status == store.StatusOK {
						j.Expected, j.HasExpected = float64(j.Grade)+rng.Float64()/3+1e-13*rng.Float64(), true
					}
					if err := tx.PutJudgment(ctx, &j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, queries := range [][]string{nil, {"q3", "q11", "q20", "q0", "q7", "q15"}} {
		for _, lab := range labs[1:] {
			opt := EvalOptions{Reference: "human:ref", Labelers: []string{lab.Name}, Queries: queries, Bootstrap: 200, Seed: 3}
			ev, err := Evaluate(ctx, st, opt)
			if err != nil {
				t.Fatal(err)
			}
			want := plainItems(t, st, labs[0].ID, lab.ID, queries)
			res, err := Compute(want, Options{MinGrade: 0, MaxGrade: 3, Threshold: 2, Bootstrap: 200, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) < 40 {
				t.Fatalf("only %d items: the comparison proves little", len(want))
			}
			if !reflect.DeepEqual(ev.Labelers[0].Result, res) {
				t.Errorf("%s on %v: Evaluate %+v\nplain reading %+v", lab.Name, queries, ev.Labelers[0].Result, res)
			}
		}
		// All of them at once: read in batches (the built-in labelers,
		// without grades, are skipped), each result the same.
		ev, err := Evaluate(ctx, st, EvalOptions{Reference: "human:ref", Labelers: []string{"all"}, Queries: queries, Bootstrap: 200, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Labelers) != len(labs)-1 {
			t.Fatalf("all: evaluated %d labelers, want %d", len(ev.Labelers), len(labs)-1)
		}
		for _, r := range ev.Labelers {
			var id int64
			for _, l := range labs {
				if l.Name == r.Labeler {
					id = l.ID
				}
			}
			res, err := Compute(plainItems(t, st, labs[0].ID, id, queries), Options{MinGrade: 0, MaxGrade: 3, Threshold: 2, Bootstrap: 200, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Result, res) {
				t.Errorf("all, %s on %v: Evaluate %+v\nplain reading %+v", r.Labeler, queries, r.Result, res)
			}
		}
	}
}

// plainItems is how Evaluate paired grades before the bulk reads.
func plainItems(t *testing.T, st *store.Store, refID, labID int64, queries []string) []Item {
	ctx := context.Background()
	want := map[string]bool{}
	for _, q := range queries {
		want[q] = true
	}
	byPair := func(id int64) map[int64]store.Grade {
		gs, err := st.Grades(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]store.Grade{}
		for _, g := range gs {
			if len(want) == 0 || want[g.Query] {
				m[g.PairID] = g
			}
		}
		return m
	}
	ref, got := byPair(refID), byPair(labID)
	var items []Item
	for id, g := range got {
		r, ok := ref[id]
		if !ok {
			continue
		}
		score := float64(g.Grade)
		if g.HasExp {
			score = g.Expected
		}
		items = append(items, Item{Query: g.Query, Doc: g.Doc, Ref: r.Grade, Got: g.Grade, Score: score})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Query != items[j].Query {
			return items[i].Query < items[j].Query
		}
		return items[i].Doc < items[j].Doc
	})
	return items
}
