package store

import (
	"context"
	"testing"
)

// TestPairFilterPairIDs: a list of pair ids restricts every pair query to
// them; an empty (non-nil) list selects nothing, nil everything.
func TestPairFilterPairIDs(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	var ids []int64
	err := st.Tx(ctx, func(tx *Store) error {
		q := Query{ExtID: "q1", Text: "alpha"}
		if _, err := tx.PutQuery(ctx, &q, false); err != nil {
			return err
		}
		for _, d := range []string{"d1", "d2", "d3"} {
			doc := Document{ExtID: d, Body: "alpha " + d}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			p := Pair{QueryID: q.ID, DocID: doc.ID, Source: SourceImported}
			if _, err := tx.PutPair(ctx, &p); err != nil {
				return err
			}
			ids = append(ids, p.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ids  []int64
		want int
	}{{nil, 3}, {[]int64{}, 0}, {[]int64{ids[0], ids[2]}, 2}, {[]int64{ids[1], 999999}, 1}} {
		n, err := st.CountPairs(ctx, PairFilter{PairIDs: c.ids})
		if err != nil || n != c.want {
			t.Errorf("PairIDs %v: %d pairs (%v), want %d", c.ids, n, err, c.want)
		}
		vs, err := st.PairViews(ctx, PairFilter{PairIDs: c.ids, QueryExtIDs: []string{"q1"}})
		if err != nil || len(vs) != c.want {
			t.Errorf("PairIDs %v: %d views (%v), want %d", c.ids, len(vs), err, c.want)
		}
	}
}
