package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
)

func put(t testing.TB, st *Store, lab, pair int64, grade int, status string) {
	t.Helper()
	j := Judgment{PairID: pair, LabelerID: lab, Grade: grade, Status: status}
	if err := st.PutJudgment(context.Background(), &j); err != nil {
		t.Fatal(err)
	}
}

func human(t testing.TB, st *Store, name string) int64 {
	t.Helper()
	l, err := st.EnsureLabeler(context.Background(), "human:"+name, KindHuman)
	if err != nil {
		t.Fatal(err)
	}
	return l.ID
}

func next(t testing.TB, st *Store, lab int64, opt AssignOptions) (PairView, bool) {
	t.Helper()
	v, ok, err := st.NextPair(context.Background(), lab, opt)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}

// checkHumanCounts asserts that the trigger-maintained counts equal a fresh
// count of human ok grades.
func checkHumanCounts(t testing.TB, st *Store) {
	t.Helper()
	var bad int
	err := st.DB().QueryRow(`SELECT count(*) FROM pairs p LEFT JOIN assign_pairs a ON a.pair_id = p.id
		WHERE a.humans IS NULL OR a.humans != (SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id
			WHERE j.pair_id = p.id AND j.status = 'ok' AND l.kind = 'human')`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d pairs with a wrong human grade count", bad)
	}
}

func TestAssignK(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	if k, err := st.AssignK(ctx); err != nil || k != 1 {
		t.Fatalf("default k = %d, %v", k, err)
	}
	if err := st.SetAssignK(ctx, 0); err == nil {
		t.Fatal("k = 0 accepted")
	}
	if err := st.SetAssignK(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if k, _ := st.AssignK(ctx); k != 3 {
		t.Fatalf("k = %d", k)
	}
}

func TestNextPairOrderSkipAndQuery(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 3, 4) // q0: pairs[0..3], q1: [4..7], q2: [8..11]
	alice := human(t, st, "alice")

	v, ok := next(t, st, alice, AssignOptions{})
	if !ok || v.ID != pairs[0] || v.QueryText == "" || v.Doc.Body == "" {
		t.Fatalf("first draw: %+v %v", v.Pair, ok)
	}
	put(t, st, alice, v.ID, 2, StatusOK)
	// Unsure counts as judged: never served again to alice.
	v, _ = next(t, st, alice, AssignOptions{QueryID: v.QueryID})
	if v.ID != pairs[1] {
		t.Fatalf("second draw %d, want %d", v.ID, pairs[1])
	}
	put(t, st, alice, v.ID, 0, StatusUnsure)
	// Skipping pairs[2] gives pairs[3], on the same query.
	v, _ = next(t, st, alice, AssignOptions{QueryID: v.QueryID, Skip: []int64{pairs[2]}})
	if v.ID != pairs[3] {
		t.Fatalf("after skip: %d, want %d", v.ID, pairs[3])
	}
	put(t, st, alice, v.ID, 1, StatusOK)
	// Staying on q0: pairs[2] (skipped before, no longer skipped) comes back.
	v, _ = next(t, st, alice, AssignOptions{QueryID: v.QueryID})
	if v.ID != pairs[2] {
		t.Fatalf("back to the skipped pair: %d", v.ID)
	}
	// Keep: the pair on screen is not drawn and keeps its lease.
	w, _ := next(t, st, alice, AssignOptions{QueryID: v.QueryID, Keep: []int64{v.ID}})
	if w.ID == v.ID || w.QueryID == v.QueryID {
		t.Fatalf("drew %d (query %d) while keeping %d", w.ID, w.QueryID, v.ID)
	}
	ls, _ := st.Leases(ctx, time.Time{})
	if len(ls) != 2 {
		t.Fatalf("leases %+v, want the kept and the new one", ls)
	}
	// Without Keep, a draw releases the other leases.
	next(t, st, alice, AssignOptions{})
	if ls, _ := st.Leases(ctx, time.Time{}); len(ls) != 1 {
		t.Fatalf("leases %+v, want one", ls)
	}
	// Alice grades everything: then nothing is left for her.
	for _, p := range pairs {
		put(t, st, alice, p, 1, StatusOK)
	}
	if v, ok := next(t, st, alice, AssignOptions{}); ok {
		t.Fatalf("drew %d after grading everything", v.ID)
	}
	if ls, _ := st.Leases(ctx, time.Time{}); len(ls) != 0 {
		t.Fatalf("grades did not release leases: %+v", ls)
	}
	checkHumanCounts(t, st)
}

func TestNextPairLeasesAndK(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 2)
	alice, bob, carol := human(t, st, "alice"), human(t, st, "bob"), human(t, st, "carol")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	a, _ := next(t, st, alice, AssignOptions{Now: t0})
	b, _ := next(t, st, bob, AssignOptions{Now: t0})
	if a.ID == b.ID {
		t.Fatalf("K=1: alice and bob both drew %d", a.ID)
	}
	if v, ok := next(t, st, carol, AssignOptions{Now: t0}); ok {
		t.Fatalf("K=1, two pairs leased: carol drew %d", v.ID)
	}
	// K=2 lets carol in (the least-graded first: both have 0 grades + 1 lease).
	c, ok := next(t, st, carol, AssignOptions{Now: t0, K: 2})
	if !ok {
		t.Fatal("K=2: carol drew nothing")
	}
	if v, ok := next(t, st, human(t, st, "dave"), AssignOptions{Now: t0, K: 2, Skip: []int64{pairs[0], pairs[1]}}); ok {
		t.Fatalf("skips ignored: %d", v.ID)
	}
	_ = c
	// Alice's lease lapses after two minutes unless renewed; bob renews.
	t1 := t0.Add(90 * time.Second)
	if ok, err := st.RenewLease(ctx, b.ID, bob, 0, t1); err != nil || !ok {
		t.Fatalf("renew: %v %v", ok, err)
	}
	t2 := t0.Add(DefaultLease + time.Second)
	v, ok := next(t, st, human(t, st, "erin"), AssignOptions{Now: t2})
	if !ok || v.ID != a.ID {
		t.Fatalf("after alice's lease expired erin drew %d %v, want %d", v.ID, ok, a.ID)
	}
	// Alice's renewal now fails: erin holds the pair and K=1.
	if ok, err := st.RenewLease(ctx, a.ID, alice, 0, t2); err != nil || ok {
		t.Fatalf("renew of a lapsed, retaken lease: %v %v", ok, err)
	}
	// A grade releases the lease; the count goes up.
	put(t, st, bob, b.ID, 3, StatusOK)
	if n, _ := st.HumanGrades(ctx, b.ID); n != 1 {
		t.Fatalf("humans = %d", n)
	}
	for _, l := range mustLeases(t, st, t2) {
		if l.LabelerID == bob {
			t.Fatalf("bob's lease survived his grade: %+v", l)
		}
	}
	// ReleaseLeases frees erin's pair at once.
	if err := st.ReleaseLeases(ctx, human(t, st, "erin")); err != nil {
		t.Fatal(err)
	}
	if v, ok := next(t, st, alice, AssignOptions{Now: t2}); !ok || v.ID != a.ID {
		t.Fatalf("released pair not served again: %d %v", v.ID, ok)
	}
}

func mustLeases(t testing.TB, st *Store, now time.Time) []Lease {
	t.Helper()
	ls, err := st.Leases(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// Annotators spread over queries: a fresh draw avoids queries others work on.
func TestNextPairSpreadsQueries(t *testing.T) {
	st := newTestStore(t, "0-3")
	fixture(t, st, 4, 5)
	seen := map[int64]bool{}
	for _, n := range []string{"a", "b", "c", "d"} {
		v, ok := next(t, st, human(t, st, n), AssignOptions{})
		if !ok || seen[v.QueryID] {
			t.Fatalf("%s drew query %d (%v), already taken", n, v.QueryID, ok)
		}
		seen[v.QueryID] = true
	}
	// A fifth annotator shares a query rather than wait.
	if _, ok := next(t, st, human(t, st, "e"), AssignOptions{}); !ok {
		t.Fatal("fifth annotator drew nothing")
	}
}

func TestHumanCountTriggers(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 2, 3)
	alice, bob := human(t, st, "alice"), human(t, st, "bob")
	llm := Labeler{Name: "gpt", Kind: KindLLM}
	if err := st.AddLabeler(ctx, &llm); err != nil {
		t.Fatal(err)
	}
	put(t, st, alice, pairs[0], 1, StatusOK)
	put(t, st, bob, pairs[0], 2, StatusOK)
	put(t, st, llm.ID, pairs[0], 2, StatusOK)
	put(t, st, alice, pairs[1], 0, StatusUnsure)
	put(t, st, alice, pairs[1], 3, StatusOK) // unsure → ok
	put(t, st, bob, pairs[2], 3, StatusOK)
	put(t, st, bob, pairs[2], 0, StatusUnsure) // ok → unsure
	checkHumanCounts(t, st)
	if n, _ := st.HumanGrades(ctx, pairs[0]); n != 2 {
		t.Fatalf("pair 0: %d humans", n)
	}
	if _, _, err := st.Undo(ctx, alice); err != nil { // back to unsure
		t.Fatal(err)
	}
	checkHumanCounts(t, st)
	// A labeler turned human (or back) moves the counts.
	llm.Kind = KindHuman
	if err := st.UpdateLabeler(ctx, llm); err != nil {
		t.Fatal(err)
	}
	checkHumanCounts(t, st)
	llm.Kind = KindLLM
	if err := st.UpdateLabeler(ctx, llm); err != nil {
		t.Fatal(err)
	}
	checkHumanCounts(t, st)
	if err := st.RemoveLabeler(ctx, "human:bob", true); err != nil {
		t.Fatal(err)
	}
	checkHumanCounts(t, st)
	if n, _ := st.HumanGrades(ctx, pairs[0]); n != 1 {
		t.Fatalf("pair 0 after removing bob: %d humans", n)
	}
	// New pairs get a row; deleted pairs lose theirs.
	fixture2 := Query{ExtID: "qx", Text: "more"}
	if _, err := st.PutQuery(ctx, &fixture2, false); err != nil {
		t.Fatal(err)
	}
	p := Pair{QueryID: fixture2.ID, DocID: 1, Source: SourceHuman}
	if _, err := st.PutPair(ctx, &p); err != nil {
		t.Fatal(err)
	}
	checkHumanCounts(t, st)
	if _, err := st.DB().Exec(`DELETE FROM pairs WHERE id = ?`, p.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "assign_pairs"); n != len(pairs) {
		t.Fatalf("assign_pairs has %d rows for %d pairs", n, len(pairs))
	}
}

func TestPriorityMode(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 2, 3)
	teacher := Labeler{Name: "teacher", Kind: KindLLM, Role: "teacher"}
	student := Labeler{Name: "student", Kind: KindStudent}
	for _, l := range []*Labeler{&teacher, &student} {
		if err := st.AddLabeler(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	// pairs[4]: teacher 3, student 0 → biggest disagreement.
	// pairs[1]: both 2 but the student is unsure (flat probabilities).
	// the rest agree with confidence.
	for i, p := range pairs {
		tg, sg := 1, 1
		probs := []float64{0, 1, 0, 0}
		switch i {
		case 4:
			tg, sg, probs = 3, 0, []float64{1, 0, 0, 0}
		case 1:
			tg, sg, probs = 2, 2, []float64{0.25, 0.25, 0.3, 0.2}
		}
		put(t, st, teacher.ID, p, tg, StatusOK)
		j := Judgment{PairID: p, LabelerID: student.ID, Grade: sg, Status: StatusOK, Probs: probs}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	alice := human(t, st, "alice")
	v, _ := next(t, st, alice, AssignOptions{Priority: true})
	if v.ID != pairs[4] {
		t.Fatalf("priority: first %d, want %d (most disagreement)", v.ID, pairs[4])
	}
	put(t, st, alice, v.ID, 3, StatusOK)
	v, _ = next(t, st, alice, AssignOptions{Priority: true})
	if v.ID != pairs[1] {
		t.Fatalf("priority: second %d, want %d (most uncertain)", v.ID, pairs[1])
	}
	// The student changes its mind: priorities follow without a manual refresh.
	put(t, st, student.ID, pairs[5], 3, StatusOK)
	put(t, st, teacher.ID, pairs[5], 0, StatusOK)
	v, _ = next(t, st, human(t, st, "bob"), AssignOptions{Priority: true})
	if v.ID != pairs[5] {
		t.Fatalf("priority after new student grades: %d, want %d", v.ID, pairs[5])
	}
	if p := Priority(st.Scale(), nil, nil); p != 0 {
		t.Fatalf("priority of nothing = %v", p)
	}
}

func TestDisagreementsAndAdjudicate(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 2, 3)
	alice, bob, carol := human(t, st, "alice"), human(t, st, "bob"), human(t, st, "carol")
	put(t, st, alice, pairs[0], 1, StatusOK)
	j := Judgment{PairID: pairs[0], LabelerID: bob, Grade: 3, Status: StatusOK, Note: "answers it"}
	if err := st.PutJudgment(ctx, &j); err != nil {
		t.Fatal(err)
	}
	put(t, st, alice, pairs[1], 2, StatusOK) // agreement
	put(t, st, bob, pairs[1], 2, StatusOK)
	put(t, st, alice, pairs[2], 2, StatusOK) // one human only
	put(t, st, carol, pairs[3], 0, StatusOK) // unsure is not a grade
	put(t, st, bob, pairs[3], 0, StatusUnsure)

	ds, err := st.Disagreements(ctx, DisagreementOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].PairID != pairs[0] || ds[0].Spread != 2 || len(ds[0].Grades) != 2 {
		t.Fatalf("disagreements %+v", ds)
	}
	if g := ds[0].Grades[1]; g.Labeler != "human:bob" || g.Grade != 3 || g.Note != "answers it" {
		t.Fatalf("bob's grade %+v", g)
	}
	// Only adjudicators adjudicate.
	if _, err := st.Adjudicate(ctx, pairs[0], alice, 2, "partly"); !errors.Is(err, ErrNotAdjudicator) {
		t.Fatalf("non-adjudicator: %v", err)
	}
	if err := st.SetAdjudicator(ctx, "human:carol", true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Adjudicate(ctx, pairs[0], carol, 9, ""); err == nil {
		t.Fatal("grade outside the scale accepted")
	}
	if _, err := st.Adjudicate(ctx, pairs[0], carol, 2, "partly answers it"); err != nil {
		t.Fatal(err)
	}
	gold, err := st.Labeler(ctx, GoldLabeler)
	if err != nil || gold.Kind != KindHuman {
		t.Fatalf("gold labeler %+v %v", gold, err)
	}
	gj, ok, _ := st.Judgment(ctx, pairs[0], gold.ID)
	if !ok || gj.Grade != 2 || gj.Note != "partly answers it" || gj.Reason != "adjudicated by human:carol" {
		t.Fatalf("gold judgment %+v", gj)
	}
	ds, _ = st.Disagreements(ctx, DisagreementOptions{})
	if len(ds) != 1 || !ds[0].Adjudicated || ds[0].Gold != 2 || ds[0].GoldBy != "human:carol" || len(ds[0].Grades) != 2 {
		t.Fatalf("after adjudication %+v", ds)
	}
	if ds, _ := st.Disagreements(ctx, DisagreementOptions{Unresolved: true}); len(ds) != 0 {
		t.Fatalf("unresolved %+v", ds)
	}
	if _, err := st.Adjudicate(ctx, pairs[0], carol, 3, "on second thought"); err != nil {
		t.Fatal(err)
	}
	if as, _ := st.Adjudications(ctx, pairs[0]); len(as) != 2 || as[1].Grade != 3 || as[0].Adjudicator != "human:carol" {
		t.Fatalf("adjudications %+v", as)
	}
	if err := st.SetAdjudicator(ctx, "gpt", true); err == nil {
		t.Fatal("unknown labeler marked")
	}
	if err := st.SetAdjudicator(ctx, GoldLabeler, true); err == nil {
		t.Fatal("gold marked as adjudicator")
	}
	checkHumanCounts(t, st)
}

// TestConcurrentAssignment is the invariant test of many annotators: 20
// goroutines, each an annotator with its own connection pool on one file,
// loop NextPair → PutJudgment as fast as they can until nothing is left.
// No pair ever gets more than K human grades, every pair ends with exactly
// K, every grade is the one its annotator gave, and no lease is left.
func TestConcurrentAssignment(t *testing.T) {
	for _, k := range []int{1, 2} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "ws.db")
			st, err := Create(ctx, path, Scales["0-3"])
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pairs := fixture(t, st, 12, 25) // 300 pairs
			if err := st.SetAssignK(ctx, k); err != nil {
				t.Fatal(err)
			}
			const annotators = 20
			type given struct{ pair, grade int64 }
			logs := make([][]given, annotators)
			ids := make([]int64, annotators)
			var wg sync.WaitGroup
			errs := make(chan error, annotators)
			for a := 0; a < annotators; a++ {
				ids[a] = human(t, st, fmt.Sprintf("a%02d", a))
				wg.Add(1)
				go func(a int) {
					defer wg.Done()
					own, err := Open(ctx, path) // a session of its own, like an SSH session
					if err != nil {
						errs <- err
						return
					}
					defer own.Close()
					var q int64
					for {
						v, ok, err := own.NextPair(ctx, ids[a], AssignOptions{QueryID: q})
						if err != nil {
							errs <- err
							return
						}
						if !ok {
							// Others may still hold leases on pairs that need
							// another grade: wait for them, then stop.
							ls, err := own.Leases(ctx, time.Time{})
							if err != nil {
								errs <- err
								return
							}
							if len(ls) == 0 {
								return
							}
							time.Sleep(2 * time.Millisecond)
							continue
						}
						q = v.QueryID
						g := int64((a + int(v.ID)) % 4)
						j := Judgment{PairID: v.ID, LabelerID: ids[a], Grade: int(g), Status: StatusOK}
						if err := own.PutJudgment(ctx, &j); err != nil {
							errs <- err
							return
						}
						logs[a] = append(logs[a], given{v.ID, g})
					}
				}(a)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			// Every pair has exactly K human grades; none over.
			rows, err := st.DB().Query(`SELECT p.id, (SELECT count(*) FROM judgments j WHERE j.pair_id = p.id AND j.status = 'ok') FROM pairs p`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var n int
				rows.Scan(&id, &n)
				if n != k {
					t.Errorf("pair %d has %d grades, want %d", id, n, k)
				}
			}
			rows.Close()
			// Every grade is the one its annotator gave, none lost or duplicated.
			total := 0
			for a := 0; a < annotators; a++ {
				seen := map[int64]bool{}
				for _, g := range logs[a] {
					if seen[g.pair] {
						t.Errorf("annotator %d served pair %d twice", a, g.pair)
					}
					seen[g.pair] = true
					j, ok, err := st.Judgment(ctx, g.pair, ids[a])
					if err != nil || !ok || int64(j.Grade) != g.grade {
						t.Errorf("annotator %d pair %d: %+v %v %v, want grade %d", a, g.pair, j, ok, err, g.grade)
					}
				}
				var n int
				st.DB().QueryRow(`SELECT count(*) FROM judgments WHERE labeler_id = ?`, ids[a]).Scan(&n)
				if n != len(logs[a]) {
					t.Errorf("annotator %d: %d judgments stored, %d given", a, n, len(logs[a]))
				}
				total += len(logs[a])
			}
			if total != k*len(pairs) {
				t.Errorf("%d grades given, want %d", total, k*len(pairs))
			}
			if n := count(t, st, "leases"); n != 0 {
				t.Errorf("%d leases left", n)
			}
			checkHumanCounts(t, st)
			t.Logf("K=%d: %d grades by %d annotators", k, total, annotators)
		})
	}
}

// ---- benchmark ------------------------------------------------------------

// assignCorpus builds a workspace of nq queries × 1,000 documents in which
// the first 60% of the queries already have one human grade per pair and a
// teacher and a student graded everything.
func assignCorpus(b *testing.B, nq int) string {
	ctx := context.Background()
	assignPath := filepath.Join(b.TempDir(), "ws.db")
	var assignBuild error
	func() {
		st, err := Create(ctx, assignPath, Scales["0-3"])
		if assignBuild = err; err != nil {
			return
		}
		defer st.Close()
		old := human(b, st, "old")
		teacher := Labeler{Name: "teacher", Kind: KindLLM, Role: "teacher"}
		student := Labeler{Name: "student", Kind: KindStudent}
		for _, l := range []*Labeler{&teacher, &student} {
			if assignBuild = st.AddLabeler(ctx, l); assignBuild != nil {
				return
			}
		}
		t := now()
		assignBuild = st.Tx(ctx, func(tx *Store) error {
			for _, q := range []string{
				`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000)
				 INSERT INTO documents(ext_id, title, body, created_at) SELECT 'd'||i, 'title '||i, 'body of document '||i, '` + t + `' FROM n`,
				fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
				 INSERT INTO queries(ext_id, text, origin, created_at) SELECT 'q'||i, 'query '||i, 'imported', '`+t+`' FROM n`, nq),
				`INSERT INTO pairs(query_id, doc_id, source, created_at) SELECT q.id, d.id, 'imported', '` + t + `' FROM queries q, documents d ORDER BY q.id, d.id`,
				fmt.Sprintf(`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at)
				 SELECT id, %d, id %% 4, 'ok', '%s', '%s' FROM pairs WHERE query_id <= %d`, old, t, t, nq*6/10),
				fmt.Sprintf(`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at)
				 SELECT id, %d, id %% 4, 'ok', '%s', '%s' FROM pairs`, teacher.ID, t, t),
				fmt.Sprintf(`INSERT INTO judgments(pair_id, labeler_id, grade, status, probs, created_at, updated_at)
				 SELECT id, %d, (id / 7) %% 4, 'ok', '[0.1,0.2,0.3,0.4]', '%s', '%s' FROM pairs`, student.ID, t, t),
				fmt.Sprintf(`INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, at) VALUES (1, %d, 'set', 1, 'ok', '%s'), (1, %d, 'set', 1, 'ok', '%s')`, teacher.ID, t, student.ID, t),
			} {
				if _, err := tx.h.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
		if assignBuild == nil {
			_, assignBuild = st.RefreshPriority(ctx)
		}
		if assignBuild == nil { // the whole workspace in the one file that scratchStore copies
			_, assignBuild = st.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		}
	}()
	if assignBuild != nil {
		b.Fatal(assignBuild)
	}
	return assignPath
}

// BenchmarkNextPair draws and grades pairs on 50,000 and 1,000,000 pairs
// while 19 other annotators hold leases: "draw" is NextPair alone (the
// previous 20 draws skipped, as by an annotator skipping every pair),
// "draw+grade" is what one keystroke of an annotator costs. K=1 serves the
// 40% ungraded pairs, K=3 the least-graded first, priority orders by
// teacher/student disagreement. The time per draw does not grow with the
// workspace: no step scans it. Every run of a case starts on its own copy
// of the workspace as built, so what one run grades and leases is not what
// the next one measures.
func BenchmarkNextPair(b *testing.B) {
	for _, nq := range []int{50, 1000} {
		b.Run(fmt.Sprintf("pairs=%d", nq*1000), func(b *testing.B) { benchNextPair(b, assignCorpus(b, nq)) })
	}
}

// benchSkips is how many of its latest draws the "draw" case skips.
const benchSkips = 20

func benchNextPair(b *testing.B, template string) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		opt   AssignOptions
		grade bool
	}{
		{"K=1/draw", AssignOptions{K: 1}, false},
		{"K=1/draw+grade", AssignOptions{K: 1}, true},
		{"K=3/draw+grade", AssignOptions{K: 3}, true},
		{"K=1/priority/draw+grade", AssignOptions{K: 1, Priority: true}, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := scratchStore(b, template)
			for i := 0; i < 19; i++ {
				if _, _, err := st.NextPair(ctx, human(b, st, fmt.Sprintf("other%d", i)), c.opt); err != nil {
					b.Fatal(err)
				}
			}
			me := human(b, st, "bench")
			opt := c.opt
			step := func(i int) {
				v, ok, err := st.NextPair(ctx, me, opt)
				if err != nil || !ok {
					b.Fatal(err, ok)
				}
				opt.QueryID = v.QueryID
				if c.grade {
					j := Judgment{PairID: v.ID, LabelerID: me, Grade: i % 4, Status: StatusOK}
					if err := st.PutJudgment(ctx, &j); err != nil {
						b.Fatal(err)
					}
				} else {
					opt.Skip = append(opt.Skip, v.ID)[max(0, len(opt.Skip)+1-benchSkips):]
				}
			}
			for i := 0; i < benchSkips; i++ { // untimed: the skip list full, the statements prepared
				step(i)
			}
			b.ResetTimer()
			cpu := cputime.Process()
			for i := 0; i < b.N; i++ {
				step(i)
			}
			cputime.Report(b, cpu)
		})
	}
}

// scratchStore opens a copy of the closed workspace at path, removed when
// the benchmark ends.
func scratchStore(b *testing.B, path string) *Store {
	b.Helper()
	cp := filepath.Join(b.TempDir(), "scratch.db")
	if err := copyFile(cp, path); err != nil {
		b.Fatal(err)
	}
	st, err := Open(context.Background(), cp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
