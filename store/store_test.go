package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestStore creates a fresh workspace file in a temp dir.
func newTestStore(t testing.TB, scale string) *Store {
	t.Helper()
	st, err := Create(context.Background(), filepath.Join(t.TempDir(), "ws.db"), Scales[scale])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t testing.TB, st *Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fixture adds n queries x m documents as pairs and returns the pair ids.
func fixture(t testing.TB, st *Store, nq, nd int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	err := st.Tx(ctx, func(tx *Store) error {
		var docs []int64
		for d := 0; d < nd; d++ {
			doc := Document{ExtID: fmt.Sprintf("d%d", d), Title: fmt.Sprintf("title %d", d), Body: fmt.Sprintf("body text number %d about topic%d", d, d%3)}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			docs = append(docs, doc.ID)
		}
		for q := 0; q < nq; q++ {
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
	return ids
}

func TestCreateRefusesOverwrite(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "ws.db")
	st, err := Create(ctx, p, Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	doc := Document{ExtID: "keep", Body: "keep me"}
	if _, err := st.PutDocument(ctx, &doc, false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := Create(ctx, p, Scales["0-2"]); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("Create over an existing workspace: err = %v", err)
	}
	// Any existing file, not only workspaces, is refused and left alone.
	other := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(other, []byte("precious"), 0o644)
	if _, err := Create(ctx, other, Scales["0-3"]); err == nil {
		t.Fatal("Create over a text file succeeded")
	}
	if b, _ := os.ReadFile(other); string(b) != "precious" {
		t.Fatalf("Create touched an existing file: %q", b)
	}
	st, err = Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Scale().Name != "0-3" || count(t, st, "documents") != 1 {
		t.Fatalf("workspace changed by a refused Create: scale %s, %d documents", st.Scale().Name, count(t, st, "documents"))
	}
}

func TestCreateBadScale(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ws.db")
	if _, err := Create(context.Background(), p, Scale{Name: "x", Levels: []Level{{Grade: 0}, {Grade: 2}}}); err == nil {
		t.Fatal("non-contiguous scale accepted")
	}
	if _, err := os.Stat(p); err == nil {
		t.Fatal("a failed Create left a file behind")
	}
	if _, err := ScaleByName("1-5"); err == nil || !strings.Contains(err.Error(), "0-3") {
		t.Fatalf("ScaleByName(1-5) = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	_, err := Open(ctx, filepath.Join(dir, "missing.db"))
	if !errors.Is(err, ErrNoWorkspace) || !strings.Contains(err.Error(), "qrelbench init") {
		t.Fatalf("Open(missing) = %v, want ErrNoWorkspace mentioning `qrelbench init`", err)
	}

	garbage := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(garbage)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite3", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('hi')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	future := filepath.Join(dir, "future.db")
	st, err := Create(ctx, future, Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cases := []struct {
		name string
		data []byte // nil: file prepared above
		want string
	}{
		{"garbage.db", garbage, "not a readable qrelbench workspace"},
		{"empty.db", []byte{}, "not a qrelbench workspace"},
		{"text.db", []byte(strings.Repeat("just some text, not a database\n", 200)), "not a readable qrelbench workspace"},
		{"foreign.db", nil, "not a qrelbench workspace"},
		{"future.db", nil, "newer than this qrelbench"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if c.data != nil {
				if err := os.WriteFile(p, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			st, err := Open(ctx, p)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Open(%s) = %q, want it to name the file and say %q", c.name, err, c.want)
			}
		})
	}
	// The foreign database is still readable by its owner.
	db, err = sql.Open("sqlite3", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var body string
	if err := db.QueryRow(`SELECT body FROM notes`).Scan(&body); err != nil || body != "hi" {
		t.Fatalf("foreign database damaged: %q %v", body, err)
	}

	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("Open(dir) = %v", err)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "ws.db")
	st, err := Create(ctx, p, Scales["0-2"])
	if err != nil {
		t.Fatal(err)
	}
	fixture(t, st, 2, 3)
	st.Close()
	snapshot := func(st *Store) string {
		var v, app int
		st.DB().QueryRow(`PRAGMA user_version`).Scan(&v)
		st.DB().QueryRow(`PRAGMA application_id`).Scan(&app)
		return fmt.Sprintf("v%d app%x docs%d q%d pairs%d labelers%d ws%d scale%d",
			v, app, count(t, st, "documents"), count(t, st, "queries"), count(t, st, "pairs"),
			count(t, st, "labelers"), count(t, st, "workspace"), count(t, st, "scale"))
	}
	var first string
	for i := 0; i < 3; i++ {
		st, err := Open(ctx, p)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if st.Scale().Name != "0-2" || st.Scale().Max() != 2 || len(st.Scale().Levels) != 3 {
			t.Fatalf("scale after reopen = %+v", st.Scale())
		}
		s := snapshot(st)
		if i == 0 {
			first = s
			entries, _ := migrations.ReadDir("migrations")
			if !strings.HasPrefix(s, fmt.Sprintf("v%d app71726c62 docs3 q2 pairs6 labelers2 ", len(entries))) {
				t.Fatalf("unexpected state %s", s)
			}
		} else if s != first {
			t.Fatalf("reopen %d changed the workspace: %s, first %s", i, s, first)
		}
		st.Close()
	}
}

func TestScaleEnforcedEverywhere(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		scale string
		bad   []int
		good  []int
	}{
		{"0-3", []int{-1, 4, 5, 100}, []int{0, 1, 2, 3}},
		{"0-2", []int{-1, 3, 4}, []int{0, 1, 2}},
		{"0-4", []int{-1, 5}, []int{0, 4}},
	} {
		t.Run(c.scale, func(t *testing.T) {
			st := newTestStore(t, c.scale)
			pairs := fixture(t, st, 1, 2)
			lab, err := st.EnsureLabeler(ctx, "human:alice", KindHuman)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range c.bad {
				j := Judgment{PairID: pairs[0], LabelerID: lab.ID, Grade: g, Status: StatusOK}
				if err := st.PutJudgment(ctx, &j); err == nil || !strings.Contains(err.Error(), "outside the workspace scale") {
					t.Errorf("PutJudgment grade %d on %s: %v", g, c.scale, err)
				}
				// A batch with one bad grade keeps nothing.
				batch := []Judgment{{PairID: pairs[1], LabelerID: lab.ID, Grade: 0, Status: StatusOK}, j}
				if err := st.PutJudgments(ctx, batch); err == nil {
					t.Errorf("PutJudgments with grade %d accepted", g)
				}
				// The SQL trigger refuses it too, for inserts and updates.
				_, err := st.DB().Exec(`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) VALUES (?,?,?,?,'t','t')`, pairs[0], lab.ID, g, StatusOK)
				if err == nil || !strings.Contains(err.Error(), "grade outside the workspace scale") {
					t.Errorf("raw INSERT grade %d: %v", g, err)
				}
			}
			if n := count(t, st, "judgments"); n != 0 {
				t.Fatalf("%d judgments kept after rejected grades", n)
			}
			if n := count(t, st, "judgment_history"); n != 0 {
				t.Fatalf("%d history rows kept after rejected grades", n)
			}
			for _, g := range c.good {
				j := Judgment{PairID: pairs[0], LabelerID: lab.ID, Grade: g, Status: StatusOK}
				if err := st.PutJudgment(ctx, &j); err != nil {
					t.Fatalf("grade %d: %v", g, err)
				}
			}
			for _, g := range c.bad {
				if _, err := st.DB().Exec(`UPDATE judgments SET grade = ? WHERE pair_id = ?`, g, pairs[0]); err == nil {
					t.Errorf("raw UPDATE to grade %d accepted", g)
				}
			}
			j, ok, err := st.Judgment(ctx, pairs[0], lab.ID)
			if err != nil || !ok || j.Grade != c.good[len(c.good)-1] {
				t.Fatalf("judgment after rejected updates = %+v %v %v", j, ok, err)
			}
		})
	}

	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 1)
	lab, _ := st.EnsureLabeler(ctx, "m", KindLLM)
	for _, j := range []Judgment{
		{PairID: pairs[0], LabelerID: lab.ID, Grade: 1, Status: "maybe"},
		{PairID: pairs[0], LabelerID: lab.ID, Grade: 1, Status: StatusOK, Probs: []float64{0.5, 0.5}},
	} {
		if err := st.PutJudgment(ctx, &j); err == nil {
			t.Errorf("PutJudgment(%+v) accepted", j)
		}
	}
	// ok without a grade, or a grade with a failure status, violates the CHECK.
	if _, err := st.DB().Exec(`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) VALUES (?,?,NULL,'ok','t','t')`, pairs[0], lab.ID); err == nil {
		t.Error("raw INSERT of ok with NULL grade accepted")
	}
	if _, err := st.DB().Exec(`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) VALUES (?,?,2,'error','t','t')`, pairs[0], lab.ID); err == nil {
		t.Error("raw INSERT of error with a grade accepted")
	}
	// A failed status carries no grade even if one is given.
	j := Judgment{PairID: pairs[0], LabelerID: lab.ID, Grade: 99, Status: StatusRefused}
	if err := st.PutJudgment(ctx, &j); err != nil {
		t.Fatal(err)
	}
	got, _, _ := st.Judgment(ctx, pairs[0], lab.ID)
	if got.Status != StatusRefused || got.Grade != -1 {
		t.Fatalf("refused judgment stored as %+v", got)
	}
}

func TestJudgmentFieldsRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 1)
	lab, _ := st.EnsureLabeler(ctx, "teacher", KindLLM)
	in := Judgment{PairID: pairs[0], LabelerID: lab.ID, Grade: 2, Status: StatusOK, Probs: []float64{0.1, 0.2, 0.3, 0.4},
		Expected: 2.0, HasExpected: true, Reason: "because", Raw: `{"grade":2}`, Note: "n", TokensIn: 10, TokensOut: 3,
		LatencyMS: 12.5, CostUSD: 0.001, Attempts: 2, PromptVersion: "v1"}
	if err := st.PutJudgment(ctx, &in); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Judgment(ctx, pairs[0], lab.ID)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got.UpdatedAt.IsZero() || time.Since(got.UpdatedAt) > time.Minute {
		t.Fatalf("UpdatedAt = %v", got.UpdatedAt)
	}
	got.UpdatedAt = time.Time{}
	if in.HistoryID == 0 {
		t.Fatal("PutJudgment did not say which history row it wrote")
	}
	in.HistoryID = 0 // the change's id, not part of the judgment read back
	if fmt.Sprint(got) != fmt.Sprint(in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
	if _, ok, _ := st.Judgment(ctx, pairs[0], 9999); ok {
		t.Fatal("judgment of an unknown labeler found")
	}
}

func gradeOf(t *testing.T, st *Store, pair, lab int64) string {
	t.Helper()
	j, ok, err := st.Judgment(context.Background(), pair, lab)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "none"
	}
	if j.Status != StatusOK {
		return j.Status + "/" + j.Note
	}
	return fmt.Sprintf("%d/%s", j.Grade, j.Note)
}

func TestUndoWalksBack(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 3)
	a, b := pairs[0], pairs[1]
	alice, _ := st.EnsureLabeler(ctx, "human:alice", KindHuman)
	bob, _ := st.EnsureLabeler(ctx, "human:bob", KindHuman)

	put := func(lab, pair int64, grade int, status, note string) {
		t.Helper()
		j := Judgment{PairID: pair, LabelerID: lab, Grade: grade, Status: status, Note: note}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	put(alice.ID, a, 1, StatusOK, "first")
	put(alice.ID, a, 2, StatusOK, "second")
	put(bob.ID, a, 0, StatusOK, "bob")
	put(alice.ID, b, 0, StatusUnsure, "later")
	put(alice.ID, a, 3, StatusOK, "third")
	put(alice.ID, b, 1, StatusOK, "decided")

	// History: one 'set' row per change, with the previous value.
	rows, err := st.DB().Query(`SELECT pair_id, grade, status, prev_grade, prev_status FROM judgment_history WHERE labeler_id = ? ORDER BY id`, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	var hist []string
	for rows.Next() {
		var pair int64
		var g, pg sql.NullInt64
		var s string
		var ps sql.NullString
		rows.Scan(&pair, &g, &s, &pg, &ps)
		hist = append(hist, fmt.Sprintf("%d:%v/%s<-%v/%v", pair, g.Int64, s, nullStr(pg), nullStr(ps)))
	}
	rows.Close()
	want := []string{
		fmt.Sprintf("%d:1/ok<-NULL/NULL", a),
		fmt.Sprintf("%d:2/ok<-1/ok", a),
		fmt.Sprintf("%d:0/unsure<-NULL/NULL", b),
		fmt.Sprintf("%d:3/ok<-2/ok", a),
		fmt.Sprintf("%d:1/ok<-NULL/unsure", b),
	}
	if strings.Join(hist, " ") != strings.Join(want, " ") {
		t.Fatalf("history\n got %v\nwant %v", hist, want)
	}

	steps := []struct {
		pair   int64
		wantA  string
		wantB  string
		wantOK bool
	}{
		{b, "3/third", "unsure/later", true},
		{a, "2/second", "unsure/later", true},
		{b, "2/second", "none", true},
		{a, "1/first", "none", true},
		{a, "none", "none", true},
		{0, "none", "none", false},
		{0, "none", "none", false},
	}
	for i, s := range steps {
		pair, ok, err := st.Undo(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok != s.wantOK || pair != s.pair {
			t.Fatalf("undo %d: pair %d ok %v, want pair %d ok %v", i, pair, ok, s.pair, s.wantOK)
		}
		if ga, gb := gradeOf(t, st, a, alice.ID), gradeOf(t, st, b, alice.ID); ga != s.wantA || gb != s.wantB {
			t.Fatalf("after undo %d: a=%s b=%s, want a=%s b=%s", i, ga, gb, s.wantA, s.wantB)
		}
		// Bob's grade is never touched by Alice's undo.
		if g := gradeOf(t, st, a, bob.ID); g != "0/bob" {
			t.Fatalf("after undo %d bob's grade = %s", i, g)
		}
	}
	var sets, undone, undos int
	st.DB().QueryRow(`SELECT count(*), sum(undone) FROM judgment_history WHERE labeler_id = ? AND action = 'set'`, alice.ID).Scan(&sets, &undone)
	st.DB().QueryRow(`SELECT count(*) FROM judgment_history WHERE labeler_id = ? AND action = 'undo'`, alice.ID).Scan(&undos)
	if sets != 5 || undone != 5 || undos != 5 {
		t.Fatalf("history after undo: %d sets, %d undone, %d undo rows", sets, undone, undos)
	}
	// A new grade after undoing everything is undoable again.
	put(alice.ID, a, 2, StatusOK, "again")
	if pair, ok, _ := st.Undo(ctx, alice.ID); !ok || pair != a || gradeOf(t, st, a, alice.ID) != "none" {
		t.Fatalf("undo after a new grade: pair %d ok %v grade %s", pair, ok, gradeOf(t, st, a, alice.ID))
	}
}

func nullStr(v any) string {
	switch x := v.(type) {
	case sql.NullInt64:
		if x.Valid {
			return fmt.Sprint(x.Int64)
		}
	case sql.NullString:
		if x.Valid {
			return x.String
		}
	}
	return "NULL"
}

func TestLabelers(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	for _, name := range BuiltinNames() {
		l, err := st.Labeler(ctx, name)
		if err != nil || l.Kind != KindBuiltin {
			t.Fatalf("builtin %s: %+v %v", name, l, err)
		}
		for _, force := range []bool{false, true} {
			if err := st.RemoveLabeler(ctx, name, force); err == nil || !strings.Contains(err.Error(), "built in") {
				t.Fatalf("RemoveLabeler(%s, force=%v) = %v", name, force, err)
			}
		}
	}
	if len(BuiltinNames()) < 2 {
		t.Fatalf("builtins = %v", BuiltinNames())
	}
	if _, err := st.Labeler(ctx, "nobody"); !errors.Is(err, ErrNoLabeler) {
		t.Fatalf("Labeler(nobody) = %v", err)
	}
	if err := st.RemoveLabeler(ctx, "nobody", true); !errors.Is(err, ErrNoLabeler) {
		t.Fatalf("RemoveLabeler(nobody) = %v", err)
	}
	for _, bad := range []string{"", "a b", "a,b", "tab\there"} {
		l := Labeler{Name: bad, Kind: KindHuman}
		if err := st.AddLabeler(ctx, &l); err == nil {
			t.Errorf("AddLabeler(%q) accepted", bad)
		}
	}
	gpt := Labeler{Name: "gpt", Kind: KindLLM, Model: "gpt-4o", APIKeyEnv: "OPENAI_API_KEY", PriceIn: 2.5, PriceOut: 10, Config: LabelerConfig{Mode: "json", Concurrency: 4}}
	if err := st.AddLabeler(ctx, &gpt); err != nil {
		t.Fatal(err)
	}
	dup := Labeler{Name: "gpt", Kind: KindLLM}
	if err := st.AddLabeler(ctx, &dup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate AddLabeler = %v", err)
	}
	got, err := st.Labeler(ctx, "gpt")
	if err != nil || got.Model != "gpt-4o" || got.Config.Concurrency != 4 || got.ID != gpt.ID {
		t.Fatalf("Labeler(gpt) = %+v %v", got, err)
	}
	if c := got.Cost(1_000_000, 100_000); math.Abs(c-3.5) > 1e-9 {
		t.Fatalf("Cost = %v", c)
	}
	e, err := st.EnsureLabeler(ctx, "gpt", KindHuman)
	if err != nil || e.ID != gpt.ID || e.Kind != KindLLM {
		t.Fatalf("EnsureLabeler existing = %+v %v", e, err)
	}

	pairs := fixture(t, st, 1, 3)
	for _, p := range pairs {
		j := Judgment{PairID: p, LabelerID: gpt.ID, Grade: 1, Status: StatusOK}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RemoveLabeler(ctx, "gpt", false); err == nil || !strings.Contains(err.Error(), "3 judgments") {
		t.Fatalf("RemoveLabeler with judgments = %v", err)
	}
	if count(t, st, "judgments") != 3 {
		t.Fatal("refused RemoveLabeler deleted judgments")
	}
	if err := st.RemoveLabeler(ctx, "gpt", true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Labeler(ctx, "gpt"); !errors.Is(err, ErrNoLabeler) {
		t.Fatalf("labeler still there: %v", err)
	}
	if n := count(t, st, "judgments"); n != 0 {
		t.Fatalf("%d judgments left after forced removal", n)
	}
	empty, _ := st.EnsureLabeler(ctx, "human:empty", KindHuman)
	if empty.Kind != KindHuman {
		t.Fatalf("EnsureLabeler new = %+v", empty)
	}
	if err := st.RemoveLabeler(ctx, "human:empty", false); err != nil {
		t.Fatalf("removing a labeler without judgments: %v", err)
	}
}

func TestPutDocumentOutcomes(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	mod := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	d := Document{ExtID: "doc1", Title: "Alpha", Body: "the aardvark eats ants", URL: "http://x", Author: "me", Modified: mod, Type: "page",
		Meta: map[string]any{"n": 1.0, "tags": []any{"a", "b"}}}
	o, err := st.PutDocument(ctx, &d, false)
	if err != nil || o != Inserted || d.ID == 0 {
		t.Fatalf("insert: %v %v id %d", o, err, d.ID)
	}
	same := d
	same.ID = 0
	same.Meta = map[string]any{"tags": []any{"a", "b"}, "n": 1.0}
	if o, err := st.PutDocument(ctx, &same, false); err != nil || o != Unchanged || same.ID != d.ID {
		t.Fatalf("identical put: %v %v", o, err)
	}
	changed := d
	changed.Body = "the zebra grazes grass"
	if _, err := st.PutDocument(ctx, &changed, false); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "doc1") || !strings.Contains(err.Error(), "--update") {
		t.Fatalf("conflicting put = %v", err)
	}
	metaOnly := d
	metaOnly.Meta = map[string]any{"n": 2.0}
	if _, err := st.PutDocument(ctx, &metaOnly, false); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "metadata") {
		t.Fatalf("metadata conflict = %v", err)
	}
	if hits, _ := st.Search(ctx, "aardvark", 5); len(hits) != 1 {
		t.Fatalf("search before update: %v", hits)
	}
	if o, err := st.PutDocument(ctx, &changed, true); err != nil || o != Updated {
		t.Fatalf("update: %v %v", o, err)
	}
	got, err := st.DocumentByExtID(ctx, "doc1")
	if err != nil || got.Body != "the zebra grazes grass" || !got.Modified.Equal(mod) || got.Meta["tags"] == nil {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if hits, _ := st.Search(ctx, "aardvark", 5); len(hits) != 0 {
		t.Fatalf("old word still found after update: %v", hits)
	}
	if hits, _ := st.Search(ctx, "zebra", 5); len(hits) != 1 || hits[0].ExtID != "doc1" {
		t.Fatalf("new word not found after update: %v", hits)
	}
	if _, err := st.DocumentByExtID(ctx, "nope"); err == nil {
		t.Fatal("unknown document found")
	}
	// Deleting a document removes it from the index.
	if _, err := st.DB().Exec(`DELETE FROM documents WHERE id = ?`, d.ID); err != nil {
		t.Fatal(err)
	}
	if hits, err := st.Search(ctx, "zebra", 5); err != nil || len(hits) != 0 {
		t.Fatalf("deleted document still found: %v %v", hits, err)
	}
}

func TestPutQueryAndPair(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	q := Query{ExtID: "q1", Text: "how do bees fly"}
	if o, err := st.PutQuery(ctx, &q, false); err != nil || o != Inserted || q.Origin != OriginImported {
		t.Fatalf("%v %v %+v", o, err, q)
	}
	q2 := Query{ExtID: "q1", Text: "how do bees fly"}
	if o, err := st.PutQuery(ctx, &q2, false); err != nil || o != Unchanged || q2.ID != q.ID {
		t.Fatalf("%v %v", o, err)
	}
	q3 := Query{ExtID: "q1", Text: "why do bees buzz"}
	if _, err := st.PutQuery(ctx, &q3, false); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflict = %v", err)
	}
	if o, err := st.PutQuery(ctx, &q3, true); err != nil || o != Updated {
		t.Fatalf("update = %v %v", o, err)
	}
	if got, _ := st.QueryByExtID(ctx, "q1"); got.Text != "why do bees buzz" {
		t.Fatalf("text = %q", got.Text)
	}
	d := Document{ExtID: "d1", Body: "bees buzz"}
	st.PutDocument(ctx, &d, false)
	p := Pair{QueryID: q.ID, DocID: d.ID, Source: SourceBM25, BM25Rank: 3, BM25Score: 1.5}
	if o, err := st.PutPair(ctx, &p); err != nil || o != Inserted {
		t.Fatal(o, err)
	}
	p2 := Pair{QueryID: q.ID, DocID: d.ID, Source: SourceHuman}
	if o, err := st.PutPair(ctx, &p2); err != nil || o != Unchanged || p2.ID != p.ID {
		t.Fatal(o, err)
	}
	v, err := st.PairView(ctx, p.ID)
	if err != nil || v.Source != SourceBM25 || v.BM25Rank != 3 || v.QueryText != "why do bees buzz" || v.Doc.Body != "bees buzz" {
		t.Fatalf("PairView = %+v %v", v, err)
	}
	ids, _ := st.PairIDs(ctx)
	if ids[PairKey{"q1", "d1"}] != p.ID {
		t.Fatalf("PairIDs = %v", ids)
	}
	// A pair needs an existing query and document.
	bad := Pair{QueryID: q.ID, DocID: 999, Source: SourceImported}
	if _, err := st.PutPair(ctx, &bad); err == nil {
		t.Fatal("pair with unknown document accepted")
	}
}

// ftsShape is what every FTSQuery result must look like: quoted terms of
// letters and digits, joined by OR.
var ftsShape = regexp.MustCompile(`^("[\pL\pN]+"( OR "[\pL\pN]+")*)?$`)

func nastyQueries() []string {
	q := []string{
		``, ` `, `"`, `""`, `"""`, `'`, `"unbalanced`, `a"b"c`, `(`, `)`, `())(`, `(a OR b`, `a AND`, `AND`, `OR`, `NOT`,
		`NOT a`, `a NOT`, `NEAR`, `NEAR(a b)`, `NEAR(a b, 2)`, `NEAR/3`, `a NEAR b`, `*`, `a*`, `*a`, `^a`, `^`, `:`, `a:b`,
		`title:foo`, `body: bar`, `{title body}: x`, `-a`, `+a`, `a + b`, `a - b`, `'; DROP TABLE documents; --`,
		`\`, `\\"`, "\x00", "a\x00b", `%`, `_`, `[a-z]`, `{}`, `<b>html</b>`, `&amp;`, `col:"phrase" AND (x OR y) NOT z*`,
		`ünïcödé`, `日本語のクエリ`, `Ελληνικά`, `emoji 🐝 bees`, "combining e\u0301", "zero\u200bwidth", "rtl \u202e text",
		`123`, `3.14`, `1e10`, `-1`, `0x1F`, `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`,
		strings.Repeat("NOT ", 300), strings.Repeat("(", 500), strings.Repeat(`"a" `, 500),
	}
	var many []string
	for i := 0; i < 1500; i++ {
		many = append(many, fmt.Sprintf("w%d", i))
	}
	return append(q, strings.Join(many, " "))
}

func TestFTSQueryNeverBreaksSearch(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	for i, body := range []string{"bees fly NEAR the hive and NOT far", "title body column AND operators", "日本語 の クエリ", "naïve café ünïcödé"} {
		d := Document{ExtID: fmt.Sprint("d", i), Title: "doc", Body: body}
		if _, err := st.PutDocument(ctx, &d, false); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s string) {
		t.Helper()
		m := FTSQuery(s)
		if !ftsShape.MatchString(m) {
			t.Errorf("FTSQuery(%q) = %q: not a quoted OR of words", s, m)
		}
		if _, err := st.Search(ctx, s, 10); err != nil {
			t.Errorf("Search(%q) [%s]: %v", s, m, err)
		}
		if _, err := st.BM25Scores(ctx, s, []int64{1, 2, 3}); err != nil {
			t.Errorf("BM25Scores(%q): %v", s, err)
		}
	}
	for _, s := range nastyQueries() {
		check(s)
	}
	// Random strings over an alphabet of FTS5 syntax, words and odd runes.
	alphabet := []string{`"`, `'`, `(`, `)`, `*`, `:`, `^`, `+`, `-`, `,`, ` `, ` `, `NEAR`, `NOT`, `AND`, `OR`, `bees`, `title`, `body`, `é`, `日`, "\u0301", `\`, `{`, `}`, `/`, `0`, `9`}
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := rng.Intn(12); n >= 0; n-- {
			b.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		check(b.String())
	}
	// Operators are words, not syntax: NOT finds the document that says it.
	hits, err := st.Search(ctx, "NOT", 10)
	if err != nil || len(hits) != 1 || hits[0].ExtID != "d0" {
		t.Fatalf("Search(NOT) = %v %v", hits, err)
	}
	if hits, _ := st.Search(ctx, "cafe", 10); len(hits) != 1 || hits[0].ExtID != "d3" {
		t.Fatalf("diacritics not folded: %v", hits)
	}
	if hits, _ := st.Search(ctx, "bees", 0); hits != nil {
		t.Fatalf("k=0 returned %v", hits)
	}
	if FTSQuery(`Bees bees BEES "bees"`) != `"bees"` {
		t.Fatalf("terms not deduplicated: %s", FTSQuery(`Bees bees BEES "bees"`))
	}
}

// FuzzFTSQuery checks that no input makes FTSQuery produce a MATCH
// expression that SQLite rejects (`go test -fuzz FuzzFTSQuery ./store`).
func FuzzFTSQuery(f *testing.F) {
	for _, s := range nastyQueries()[:60] {
		f.Add(s)
	}
	st := newTestStore(f, "0-3")
	d := Document{ExtID: "d", Body: "some words to match"}
	if _, err := st.PutDocument(context.Background(), &d, false); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m := FTSQuery(s); !ftsShape.MatchString(m) {
			t.Fatalf("FTSQuery(%q) = %q", s, m)
		}
		if _, err := st.Search(context.Background(), s, 5); err != nil {
			t.Fatalf("Search(%q): %v", s, err)
		}
	})
}

// vocabulary is a fixed list of words for generated corpora.
var vocabulary = strings.Fields(`time year people way day man thing woman life child world school state family student group country
problem hand part place case week company system program question work government number night point home water room mother area
money story fact month lot right study book eye job word business issue side kind head house service friend father power hour game
line end member law car city community name president team minute idea kid body information back parent face others level office door
health person art war history party result change morning reason research girl guy moment air teacher force education foot boy age
policy process music market sense nation plan college interest death experience effect class control care field development role
effort rate heart drug show leader light voice wife police mind price report decision son view relationship town road arm difference
value building action model season society tax director position player record paper space ground form event official matter center
couple site project activity star table need court oil situation cost industry figure street image phone data picture practice piece
land product doctor wall patient worker news test movie north love support technology step baby computer type attention film tree
source organization hair window evidence population site truth lawyer song bee hive honey pollen flower garden river bridge engine`)

// benchVocabulary is vocabulary followed by made-up words, 20,000 in all,
// so that word frequencies can follow Zipf's law as in real text.
var benchVocabulary = func() []string {
	v := append([]string(nil), vocabulary...)
	syl := strings.Fields("ka lo mi ne ru sa te vo zi pa de fu go hi ja")
	for i := 0; len(v) < 20000; i++ {
		w := ""
		for n := i; ; n /= len(syl) {
			w += syl[n%len(syl)]
			if n < len(syl) {
				break
			}
		}
		v = append(v, w+"x")
	}
	return v
}()

// zipfWords draws n words with Zipf-distributed frequencies.
func zipfWords(z *rand.Zipf, n int) []string {
	w := make([]string, n)
	for k := range w {
		w[k] = benchVocabulary[z.Uint64()]
	}
	return w
}

func newZipf(rng *rand.Rand) *rand.Zipf {
	return rand.NewZipf(rng, 1.1, 2, uint64(len(benchVocabulary)-1))
}

func corpusDoc(z *rand.Zipf, i, words int) Document {
	w := zipfWords(z, words)
	return Document{ExtID: fmt.Sprintf("doc%06d", i), Title: strings.Join(w[:4], " "), Body: strings.Join(w, " ")}
}

// randomQuery is 2–4 words drawn like document words.
func randomQuery(rng *rand.Rand, z *rand.Zipf) string {
	return strings.Join(zipfWords(z, 2+rng.Intn(3)), " ")
}

func TestBM25ScoresMatchSearch(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	rng := rand.New(rand.NewSource(7))
	z := newZipf(rng)
	var all []int64
	err := st.Tx(ctx, func(tx *Store) error {
		for i := 0; i < 1500; i++ {
			d := corpusDoc(z, i, 40)
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
			all = append(all, d.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		q := randomQuery(rng, z)
		hits, err := st.Search(ctx, q, 30)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 {
			continue
		}
		for k := 1; k < len(hits); k++ {
			if hits[k].Score > hits[k-1].Score {
				t.Fatalf("%q: hits not sorted by score: %v", q, hits)
			}
		}
		var ids []int64
		for _, h := range hits {
			ids = append(ids, h.DocID)
		}
		// Ask for every document (more than one chunk of 500): the hits'
		// scores must agree, and nothing outside the index may score.
		scores, err := st.BM25Scores(ctx, q, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Score <= 0 || math.Abs(scores[h.DocID]-h.Score) > 1e-9*math.Max(1, math.Abs(h.Score)) {
				t.Fatalf("%q: doc %s Search score %v, BM25Scores %v", q, h.ExtID, h.Score, scores[h.DocID])
			}
		}
		// A few ids (the rowid IN path) give the same scores.
		few := append([]int64{-1}, ids[:min(5, len(ids))]...)
		small, err := st.BM25Scores(ctx, q, few)
		if err != nil {
			t.Fatal(err)
		}
		if len(small) != len(few)-1 {
			t.Fatalf("%q: BM25Scores of %d ids returned %d", q, len(few), len(small))
		}
		for id, s := range small {
			if s != scores[id] {
				t.Fatalf("%q: doc %d scores %v with few ids, %v with all", q, id, s, scores[id])
			}
		}
		// The top hit is the highest BM25Scores value overall.
		best := 0.0
		for _, s := range scores {
			best = math.Max(best, s)
		}
		if math.Abs(best-hits[0].Score) > 1e-9*math.Max(1, best) {
			t.Fatalf("%q: best BM25Scores %v but top hit %v", q, best, hits[0].Score)
		}
		// Exclusion drops the document and still returns k hits when there are enough.
		ex, err := st.Search(ctx, q, 5, hits[0].DocID)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range ex {
			if h.DocID == hits[0].DocID {
				t.Fatalf("excluded doc returned")
			}
		}
		if len(hits) >= 6 && len(ex) != 5 {
			t.Fatalf("exclude returned %d hits, want 5", len(ex))
		}
	}
	m, err := st.BM25Scores(ctx, "xyzzy-nothing", all[:10])
	if err != nil || len(m) != 0 {
		t.Fatalf("non-matching text scored: %v %v", m, err)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 2, 3)
	lab, _ := st.EnsureLabeler(ctx, "human:a", KindHuman)
	js := []Judgment{
		{PairID: pairs[0], LabelerID: lab.ID, Grade: 3, Status: StatusOK},
		{PairID: pairs[1], LabelerID: lab.ID, Grade: 3, Status: StatusOK},
		{PairID: pairs[2], LabelerID: lab.ID, Grade: 0, Status: StatusOK},
		{PairID: pairs[3], LabelerID: lab.ID, Status: StatusUnsure},
	}
	if err := st.PutJudgments(ctx, js); err != nil {
		t.Fatal(err)
	}
	s, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Scale != "0-3" || s.Documents != 3 || s.Queries != 2 || s.Pairs != 6 || len(s.Labelers) != 3 {
		t.Fatalf("stats = %+v", s)
	}
	for _, l := range s.Labelers {
		if l.Labeler == "human:a" {
			if l.Total != 4 || l.ByGrade[3] != 2 || l.ByGrade[0] != 1 || l.ByStatus[StatusUnsure] != 1 || l.ByStatus[StatusOK] != 3 {
				t.Fatalf("labeler stats = %+v", l)
			}
		} else if l.Total != 0 {
			t.Fatalf("builtin with judgments: %+v", l)
		}
	}
	g, err := st.Grades(ctx, lab.ID)
	if err != nil || len(g) != 3 || g[0].Query != "q0" || g[0].Doc != "d0" {
		t.Fatalf("Grades = %+v %v", g, err)
	}
}

// TestConcurrentWriterAndReaders runs writers that grade in transactions
// while readers list grades and stats, through the same pool and through a
// second Store on the same file (another process, in effect). WAL and the
// busy timeout must keep every call from failing with "database is locked".
func TestConcurrentWriterAndReaders(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "ws.db")
	st, err := Create(ctx, p, Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pairs := fixture(t, st, 20, 25) // 500 pairs
	other, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	const writers, batches, batch = 2, 60, 25
	labs := make([]Labeler, writers)
	for w := range labs {
		if labs[w], err = st.EnsureLabeler(ctx, fmt.Sprintf("writer%d", w), KindLLM); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var writersWG sync.WaitGroup
	for w := 0; w < writers; w++ {
		writersWG.Add(1)
		go func(w int) {
			defer writersWG.Done()
			ws := st
			if w%2 == 1 {
				ws = other
			}
			rng := rand.New(rand.NewSource(int64(w)))
			for b := 0; b < batches; b++ {
				err := ws.Tx(ctx, func(tx *Store) error {
					for k := 0; k < batch; k++ {
						j := Judgment{PairID: pairs[rng.Intn(len(pairs))], LabelerID: labs[w].ID, Grade: rng.Intn(4), Status: StatusOK}
						if err := tx.PutJudgment(ctx, &j); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					fail(fmt.Errorf("writer %d: %w", w, err))
					return
				}
			}
		}(w)
	}
	reads := make([]int, 4)
	for r := 0; r < len(reads); r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			rs := st
			if r%2 == 1 {
				rs = other
			}
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := rs.Grades(ctx, labs[r%writers].ID); err != nil {
					fail(fmt.Errorf("reader %d Grades: %w", r, err))
					return
				}
				if _, err := rs.Stats(ctx); err != nil {
					fail(fmt.Errorf("reader %d Stats: %w", r, err))
					return
				}
				if _, err := rs.PairJudgments(ctx, pairs[reads[r]%len(pairs)]); err != nil {
					fail(fmt.Errorf("reader %d PairJudgments: %w", r, err))
					return
				}
				reads[r]++
			}
		}(r)
	}
	writersWG.Wait()
	close(done)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	var h int
	st.DB().QueryRow(`SELECT count(*) FROM judgment_history`).Scan(&h)
	if h != writers*batches*batch {
		t.Fatalf("%d history rows, want %d", h, writers*batches*batch)
	}
	t.Logf("reads per reader: %v", reads)
}

// TestOpenForeignFileLeavesItAlone: refusing a file that is not a workspace
// must not modify it (no WAL switch, no growth of an empty file).
func TestOpenForeignFileLeavesItAlone(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite3", "file:"+other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE t(x); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, f := range []string{empty, other} {
		before, _ := os.ReadFile(f)
		if _, err := Open(context.Background(), f); err == nil || !strings.Contains(err.Error(), "not a qrelbench workspace") {
			t.Fatalf("%s: err %v", f, err)
		}
		after, _ := os.ReadFile(f)
		if !bytes.Equal(before, after) {
			t.Errorf("%s changed: %d bytes before, %d after", filepath.Base(f), len(before), len(after))
		}
		if _, err := os.Stat(f + "-wal"); err == nil {
			t.Errorf("%s: a WAL file appeared", filepath.Base(f))
		}
	}
}

// TestPathsWithURICharacters: a workspace path with '#', '?' or '%' opens
// that very file (SQLite reads "file:" names as URIs, where '#' would end
// the path and '?' start parameters).
func TestPathsWithURICharacters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, name := range []string{"team#2.db", "what?.db", "100%25.db", "a b.db"} {
		p := filepath.Join(dir, name)
		st, err := Create(ctx, p, Scales["0-3"])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		st.Close()
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: the workspace is not where it was asked for: %v", name, err)
		}
		if st, err = Open(ctx, p); err != nil {
			t.Fatalf("reopen %s: %v", name, err)
		}
		st.Close()
		if st, err = OpenReadOnly(ctx, p); err != nil {
			t.Fatalf("read-only %s: %v", name, err)
		}
		st.Close()
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n == "team" || n == "what" || n == "100%.db" {
			t.Fatalf("a stray file %q appeared", n)
		}
	}
}
