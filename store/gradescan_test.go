package store

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestScanOKGradesBothWays reads labelers' ok grades through both of
// ScanOKGrades' paths (the table in rowid ranges for labelers with most of
// the judgments, the index for one with few of them), over many spans read
// in parallel, and holds both to a plain row-by-row SELECT: every ok grade
// and expected grade (exact to the bit), nothing else, each once.
func TestScanOKGradesBothWays(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	labs := []Labeler{{Name: "big", Kind: KindHuman}, {Name: "student", Kind: KindStudent}, {Name: "few", Kind: KindHuman}}
	rng := rand.New(rand.NewSource(3))
	err := st.Tx(ctx, func(tx *Store) error {
		for i := range labs {
			if err := tx.AddLabeler(ctx, &labs[i]); err != nil {
				return err
			}
		}
		for q := 0; q < 30; q++ {
			qq := Query{ExtID: fmt.Sprintf("q%d", q), Text: "query"}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for d := 0; d < 20; d++ {
				doc := Document{ExtID: fmt.Sprintf("d%d-%d", q, d), Body: "passage"}
				if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
					return err
				}
				p := Pair{QueryID: qq.ID, DocID: doc.ID, Source: SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				for li, l := range labs {
					if (li == 2 && rng.Intn(40) != 0) || rng.Intn(6) == 0 {
						continue
					}
					j := Judgment{PairID: p.ID, LabelerID: l.ID, Grade: rng.Intn(4), Status: StatusOK}
					switch rng.Intn(10) {
					case 0:
						j.Status, j.Grade = StatusUnsure, 0
					case 1:
						j.Status, j.Grade, j.Raw = "unparseable", 0, "??"
					}
					if li == 1 && j.Status == StatusOK {
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
	defer func(n int64) { spanLen = n }(spanLen)
	spanLen = 17

	plain := func(id int64) []string {
		rows, err := st.DB().QueryContext(ctx, `SELECT pair_id, grade, expected FROM judgments WHERE labeler_id = ? AND status = 'ok'`, id)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var p int64
			var g int
			var e *float64
			if err := rows.Scan(&p, &g, &e); err != nil {
				t.Fatal(err)
			}
			rec := fmt.Sprintf("%d %d", p, g)
			if e != nil {
				rec += fmt.Sprintf(" %b", *e)
			}
			out = append(out, rec)
		}
		slices.Sort(out)
		return out
	}
	for _, ids := range [][]int64{{labs[0].ID, labs[1].ID, labs[2].ID}, {labs[2].ID}, {labs[1].ID, labs[1].ID}} {
		var mu sync.Mutex
		got := make([][]string, len(ids))
		err := st.ScanOKGrades(ctx, ids, func(which int, pairID int64, grade int, exp float64, hasExp bool) {
			rec := fmt.Sprintf("%d %d", pairID, grade)
			if hasExp {
				rec += fmt.Sprintf(" %b", exp)
			}
			mu.Lock()
			got[which] = append(got[which], rec)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			want := plain(id)
			slices.Sort(got[i])
			if len(want) < 10 || !reflect.DeepEqual(got[i], want) {
				t.Errorf("labelers %v, labeler %d: %d grades\n%v\nwant %d\n%v", ids, id, len(got[i]), got[i], len(want), want)
			}
		}
	}
}

// TestScanExtIDsInOrder reads external ids in pages, in byte order
// whatever order they were added in, with the characters the packing
// uses as separators inside them.
func TestScanExtIDsInOrder(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	var want []string
	ids := map[string]int64{}
	for i := 0; i < 40; i++ {
		ext := fmt.Sprintf("q:%d;%c", (i*17)%40, 'Z'+rune(i%3)*16)
		q := Query{ExtID: ext, Text: "query"}
		if _, err := st.PutQuery(ctx, &q, false); err != nil {
			t.Fatal(err)
		}
		want = append(want, ext)
		ids[ext] = q.ID
	}
	slices.Sort(want)
	defer func(n int64) { spanLen = n }(spanLen)
	for _, span := range []int64{1 << 18, 7, 1} {
		spanLen = span
		var got []string
		sorted, err := st.ScanExtIDs(ctx, "queries", func(id int64, ext string) {
			if ids[ext] != id {
				t.Errorf("%q: id %d, want %d", ext, id, ids[ext])
			}
			got = append(got, ext)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !sorted || !slices.Equal(got, want) {
			t.Errorf("pages of %d: sorted %v\n%q\nwant\n%q", span, sorted, got, want)
		}
	}
	if _, err := st.ScanExtIDs(ctx, "pairs", func(int64, string) {}); err == nil || !strings.Contains(err.Error(), "no table") {
		t.Errorf("err = %v", err)
	}
}

// TestScanPairsParallel gives the pairs ScanPairIDs gives, in spans read
// at once.
func TestScanPairsParallel(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	fixture(t, st, 9, 7)
	var want []string
	if err := st.ScanPairIDs(ctx, 0, func(id, q, d int64) { want = append(want, fmt.Sprint(id, q, d)) }); err != nil {
		t.Fatal(err)
	}
	defer func(n int64) { spanLen = n }(spanLen)
	spanLen = 5
	var mu sync.Mutex
	var got []string
	if err := st.ScanPairsParallel(ctx, func(id, q, d int64) {
		mu.Lock()
		got = append(got, fmt.Sprint(id, q, d))
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != 63 || !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}
