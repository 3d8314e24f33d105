package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestMatchWords: whole words (stemmed), never substrings, per field; the
// query index follows inserts and edits of query texts.
func TestMatchWords(t *testing.T) {
	ctx := context.Background()
	st, err := Create(ctx, filepath.Join(t.TempDir(), "w.db"), Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	docs := []Document{
		{ExtID: "d1", Title: "Laptop setup", Body: "Unbox the computer."},
		{ExtID: "d2", Title: "Printer", Body: "Order toner for laptops here."},
	}
	for i := range docs {
		if _, err := st.PutDocument(ctx, &docs[i], false); err != nil {
			t.Fatal(err)
		}
	}
	qs := []Query{{ExtID: "q1", Text: "new laptop"}, {ExtID: "q2", Text: "toner order"}}
	for i := range qs {
		if _, err := st.PutQuery(ctx, &qs[i], false); err != nil {
			t.Fatal(err)
		}
	}
	got := func(text string) string {
		t.Helper()
		ws, err := st.MatchWords(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		s := ""
		for _, w := range ws {
			s += fmt.Sprintf("%s q%v t%v b%v;", w.Word, w.Queries, w.Titles, w.Bodies)
		}
		return s
	}
	cases := map[string]string{
		"pto":            "pto q[] t[] b[];", // not a substring search
		"Laptop":         fmt.Sprintf("laptop q[%d] t[%d] b[%d];", qs[0].ID, docs[0].ID, docs[1].ID),
		"the toner":      fmt.Sprintf("toner q[%d] t[] b[%d];", qs[1].ID, docs[1].ID),
		"\"title\": NOT": "title q[] t[] b[];not q[] t[] b[];", // operators are words
		"":               "",
	}
	for in, want := range cases {
		if g := got(in); g != want {
			t.Errorf("%q: %s, want %s", in, g, want)
		}
	}
	qs[1].Text = "printer ink"
	if _, err := st.PutQuery(ctx, &qs[1], true); err != nil {
		t.Fatal(err)
	}
	if g := got("toner ink"); g != fmt.Sprintf("toner q[] t[] b[%d];ink q[%d] t[] b[];", docs[1].ID, qs[1].ID) {
		t.Errorf("after the edit: %s", g)
	}
}
