package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// TestUpgradeWidensPairSourceAndRunKind opens a workspace written by schema
// version 2 and checks that, on every connection of the pool, pairs accept
// the source "pool" and runs the kind "pooling", that the old checks still
// refuse anything else, and that no row was lost.
func TestUpgradeWidensPairSourceAndRunKind(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_init.sql", "0002_assign.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatal(name, err)
		}
	}
	_, err = db.Exec(`PRAGMA user_version = 2; PRAGMA application_id = ` + fmt.Sprint(applicationID) + `;
		INSERT INTO workspace(key, value) VALUES ('scale', '0-3');
		INSERT INTO scale(grade, name, description) VALUES (0,'a',''),(1,'b',''),(2,'c',''),(3,'d','');
		INSERT INTO documents(ext_id, body, created_at) VALUES ('d1', 'x', ''), ('d2', 'y', '');
		INSERT INTO queries(ext_id, text, origin, created_at) VALUES ('q1', 'z', 'imported', '');
		INSERT INTO runs(kind, status, started_at, updated_at) VALUES ('mining', 'done', '', '');
		INSERT INTO pairs(query_id, doc_id, source, run_id, created_at) VALUES (1, 1, 'bm25', 1, '');`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO pairs(query_id, doc_id, source, created_at) VALUES (1, 2, 'pool', '')`); err == nil {
		t.Fatal("version 2 already accepts pool pairs: the test does not test the upgrade")
	}
	db.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var version int
	st.DB().QueryRow(`PRAGMA user_version`).Scan(&version)
	if files, _ := migrations.ReadDir("migrations"); version != len(files) {
		t.Fatalf("schema version %d after opening, want %d", version, len(files))
	}
	// Hold several connections at once so the writes land on different
	// ones, each of which must see the new schema.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := st.DB().Conn(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `INSERT INTO runs(kind, status, started_at, updated_at) VALUES ('pooling', 'done', '', '')`); err != nil {
				errs <- fmt.Errorf("conn %d: run kind pooling: %w", i, err)
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO runs(kind, status, started_at, updated_at) VALUES ('pool', 'done', '', '')`); err == nil {
				errs <- fmt.Errorf("conn %d: run kind 'pool' accepted", i)
			}
			if _, err := conn.ExecContext(ctx, `INSERT INTO pairs(query_id, doc_id, source, created_at) VALUES (1, 1, 'nonsense', '')`); err == nil || !strings.Contains(err.Error(), "CHECK") {
				errs <- fmt.Errorf("conn %d: pair source nonsense: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p := Pair{QueryID: 1, DocID: 2, Source: SourcePool}
	if o, err := st.PutPair(ctx, &p); err != nil || o != Inserted {
		t.Fatalf("pool pair: %v %v", o, err)
	}
	if n := count(t, st, "pairs"); n != 2 {
		t.Fatalf("%d pairs after the upgrade, want 2", n)
	}
	var ok string
	st.DB().QueryRow(`PRAGMA integrity_check`).Scan(&ok)
	if ok != "ok" {
		t.Fatalf("integrity check: %s", ok)
	}
}

func systemFixture(t *testing.T) (*Store, []SystemResult) {
	st := newTestStore(t, "0-3")
	fixture(t, st, 2, 4)
	qs, _ := st.QueryIDs(context.Background())
	ds, _ := st.DocumentIDs(context.Background())
	// q0: d0 and d1 tie at 2, d2 at 1; q1: d3 alone.
	return st, []SystemResult{
		{QueryID: qs["q0"], DocID: ds["d0"], Score: 2, Rank: 1},
		{QueryID: qs["q0"], DocID: ds["d1"], Score: 2, Rank: 2},
		{QueryID: qs["q0"], DocID: ds["d2"], Score: 1, Rank: 7},
		{QueryID: qs["q1"], DocID: ds["d3"], Score: -0.5, Rank: 1},
	}
}

func TestPutSystemOutcomes(t *testing.T) {
	ctx := context.Background()
	st, rs := systemFixture(t)
	sys := System{Name: "bm25", SourceFile: "a.run", ContentSHA256: "h1"}
	if o, err := st.PutSystem(ctx, &sys, rs, false); err != nil || o != Inserted || sys.ID == 0 {
		t.Fatalf("first put: %v %v", o, err)
	}
	again := System{Name: "bm25", ContentSHA256: "h1"}
	if o, err := st.PutSystem(ctx, &again, rs, false); err != nil || o != Unchanged || again.ID != sys.ID {
		t.Fatalf("same content: %v %v", o, err)
	}
	if n := count(t, st, "system_results"); n != 4 {
		t.Fatalf("%d results after an unchanged put, want 4", n)
	}
	other := System{Name: "bm25", ContentSHA256: "h2"}
	if _, err := st.PutSystem(ctx, &other, rs[:1], false); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("different content: %v", err)
	}
	// Replacing drops the provenance the old results gave.
	if _, _, err := st.AddToPool(ctx, []PoolList{{SystemID: sys.ID, QueryID: rs[0].QueryID, Depth: 5, Docs: []int64{rs[0].DocID}}}, 0); err != nil {
		t.Fatal(err)
	}
	if o, err := st.PutSystem(ctx, &other, rs[:1], true); err != nil || o != Updated || other.ID != sys.ID {
		t.Fatalf("replace: %v %v", o, err)
	}
	if n := count(t, st, "system_results"); n != 1 {
		t.Fatalf("%d results after replacing with one, want 1", n)
	}
	if n := count(t, st, "pool_lists"); n != 0 {
		t.Fatalf("replaced system kept %d pool entries", n)
	}
	got, err := st.System(ctx, "bm25")
	if err != nil || got.ContentSHA256 != "h2" || got.Queries != 1 || got.Results != 1 {
		t.Fatalf("stored system %+v %v", got, err)
	}
	for _, bad := range []string{"", "two words", "tab\there", "ctl\x01"} {
		if _, err := st.PutSystem(ctx, &System{Name: bad, ContentSHA256: "x"}, nil, false); err == nil {
			t.Errorf("system name %q accepted", bad)
		}
	}
}

func TestSystemResultsAndTopCandidates(t *testing.T) {
	ctx := context.Background()
	st, rs := systemFixture(t)
	sys := System{Name: "s", ContentSHA256: "h"}
	if _, err := st.PutSystem(ctx, &sys, rs, false); err != nil {
		t.Fatal(err)
	}
	all, err := st.SystemResults(ctx, sys.ID)
	if err != nil || fmt.Sprint(all) != fmt.Sprint(rs) {
		t.Fatalf("results %v %v, want %v", all, err, rs)
	}
	top := func(depth int) string {
		var got []string
		err := st.TopCandidates(ctx, sys.ID, depth, func(q, d int64, r int) { got = append(got, fmt.Sprintf("%d/%d:%d", q, d, r)) })
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		return strings.Join(got, " ")
	}
	c := func(i, r int) string { return fmt.Sprintf("%d/%d:%d", rs[i].QueryID, rs[i].DocID, r) }
	// Depth 1 on q0: d0 and d1 both score highest, so both are candidates,
	// with the same score rank; d2, which two documents outscore, is not.
	if got, want := top(1), strings.Join([]string{c(0, 1), c(1, 1), c(3, 1)}, " "); got != want {
		t.Fatalf("depth-1 candidates %s, want %s", got, want)
	}
	if got, want := top(2), strings.Join([]string{c(0, 1), c(1, 1), c(3, 1)}, " "); got != want {
		t.Fatalf("depth-2 candidates %s, want %s", got, want)
	}
	if got, want := top(3), strings.Join([]string{c(0, 1), c(1, 1), c(2, 3), c(3, 1)}, " "); got != want {
		t.Fatalf("depth-3 candidates %s, want %s", got, want)
	}
	if err := st.RemoveSystem(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "system_results"); n != 0 {
		t.Fatalf("removed system left %d results", n)
	}
	if err := st.RemoveSystem(ctx, "s"); err == nil || !strings.Contains(err.Error(), `no system "s"`) {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := st.SelectSystems(ctx, nil); err == nil || !strings.Contains(err.Error(), "import a TREC run") {
		t.Fatalf("no systems: %v", err)
	}
}

func TestPoolEntriesAndGradeCounts(t *testing.T) {
	ctx := context.Background()
	st, rs := systemFixture(t)
	a, b := System{Name: "a", ContentSHA256: "1"}, System{Name: "b", ContentSHA256: "2"}
	st.PutSystem(ctx, &a, rs, false)
	st.PutSystem(ctx, &b, rs, false)
	q0, q1 := rs[0].QueryID, rs[3].QueryID
	d0, d1, d3 := rs[0].DocID, rs[1].DocID, rs[3].DocID
	pairs, _ := st.PairIDs(ctx)
	p0, p1 := pairs[PairKey{"q0", "d0"}], pairs[PairKey{"q0", "d1"}]
	before := count(t, st, "pairs")
	// Every pair exists already: lists are recorded, no pair is added.
	np, nl, err := st.AddToPool(ctx, []PoolList{{SystemID: a.ID, QueryID: q0, Depth: 2, Docs: []int64{d1, d0}}, {SystemID: b.ID, QueryID: q0, Depth: 2, Docs: []int64{d0}},
		{SystemID: a.ID, QueryID: q1, Depth: 2, Docs: []int64{d3}}}, 0)
	if err != nil || np != 0 || nl != 3 || count(t, st, "pairs") != before {
		t.Fatalf("add: %d pairs %d lists %v", np, nl, err)
	}
	// The same or a shallower list changes nothing; a deeper one replaces
	// the list, and its new document becomes a pair, source pool, with its
	// run, offered for assignment.
	doc := Document{ExtID: "fresh", Body: "fresh"}
	st.PutDocument(ctx, &doc, false)
	run := Run{Kind: RunPooling}
	if err := st.StartRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	np, nl, err = st.AddToPool(ctx, []PoolList{{SystemID: a.ID, QueryID: q0, Depth: 2, Docs: []int64{d1, d0}}, {SystemID: b.ID, QueryID: q0, Depth: 1, Docs: []int64{d1}},
		{SystemID: a.ID, QueryID: q1, Depth: 3, Docs: []int64{d3, doc.ID}, RunID: run.ID}}, run.ID)
	if err != nil || np != 1 || nl != 1 {
		t.Fatalf("add again: %d pairs %d lists %v", np, nl, err)
	}
	var src string
	var runID int64
	st.DB().QueryRow(`SELECT source, run_id FROM pairs WHERE doc_id = ?`, doc.ID).Scan(&src, &runID)
	if src != SourcePool || runID != run.ID {
		t.Fatalf("new pool pair: source %q run %d", src, runID)
	}
	var humans int
	if err := st.DB().QueryRow(`SELECT humans FROM assign_pairs a JOIN pairs p ON p.id = a.pair_id WHERE p.doc_id = ?`, doc.ID).Scan(&humans); err != nil {
		t.Fatalf("new pool pair not offered for assignment: %v", err)
	}
	ls, err := st.QueryPool(ctx, q0)
	if err != nil || fmt.Sprint(ls) != fmt.Sprint([]PoolList{{a.ID, q0, 2, []int64{d1, d0}, 0}, {b.ID, q0, 2, []int64{d0}, 0}}) {
		t.Fatalf("q0 pool %v %v", ls, err)
	}
	byQuery, err := st.SystemPool(ctx, a.ID)
	if err != nil || len(byQuery) != 2 || fmt.Sprint(byQuery[q1]) != fmt.Sprint(PoolList{a.ID, q1, 3, []int64{d3, doc.ID}, run.ID}) {
		t.Fatalf("pool of a: %v %v", byQuery, err)
	}
	h, _ := st.EnsureLabeler(ctx, "human:x", KindHuman)
	st.PutJudgment(ctx, &Judgment{PairID: p0, LabelerID: h.ID, Grade: 2, Status: StatusOK})
	st.PutJudgment(ctx, &Judgment{PairID: p1, LabelerID: h.ID, Status: StatusUnsure})
	counts, err := st.OKGradesAmong(ctx, []int64{p0, p1})
	if err != nil || fmt.Sprint(counts) != "map[human:x:1]" {
		t.Fatalf("counts %v %v", counts, err)
	}
}
