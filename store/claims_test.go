package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func modelLabeler(t testing.TB, st *Store, name string) int64 {
	t.Helper()
	l := Labeler{Name: name, Kind: KindLLM, BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	if err := st.AddLabeler(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l.ID
}

func claimIDs(t testing.TB, st *Store, f PairFilter, owner string, n int, ttl time.Duration) []int64 {
	t.Helper()
	vs, err := st.ClaimPairs(context.Background(), f, owner, n, ttl)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, v := range vs {
		if v.QueryText == "" || v.Doc.Body == "" {
			t.Fatalf("claimed pair %d without its texts", v.ID)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// TestClaimPairsDivideWork: owners claiming at once from two pools never get
// the same pair, and together get every pair once.
func TestClaimPairsDivideWork(t *testing.T) {
	st := newTestStore(t, "0-3")
	all := fixture(t, st, 10, 30) // 300 pairs
	lab := modelLabeler(t, st, "gpt")
	st2, err := Open(context.Background(), st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	a, b := NewOwner(), NewOwner()
	defer EndOwner(a)
	defer EndOwner(b)
	var mu sync.Mutex
	got := map[int64]string{}
	var wg sync.WaitGroup
	for _, w := range []struct {
		st    *Store
		owner string
	}{{st, a}, {st2, b}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ids := claimIDs(t, w.st, PairFilter{UngradedBy: lab}, w.owner, 7, time.Minute)
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					if prev, dup := got[id]; dup {
						t.Errorf("pair %d claimed by %s and %s", id, prev, w.owner)
					}
					got[id] = w.owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != len(all) {
		t.Fatalf("%d of %d pairs claimed", len(got), len(all))
	}
	// Claims are not annotators' leases, and do not hold pairs back from
	// humans: K=1, every pair is claimed by a model, a human is still served.
	if ls, _ := st.Leases(context.Background(), time.Time{}); len(ls) != 0 {
		t.Fatalf("claims listed as leases: %d", len(ls))
	}
	if _, ok := next(t, st, human(t, st, "alice"), AssignOptions{}); !ok {
		t.Fatal("a model's claims kept every pair from a human annotator")
	}
}

func TestClaimLifecycle(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	fixture(t, st, 1, 6)
	lab := modelLabeler(t, st, "gpt")
	a, b := NewOwner(), NewOwner()
	defer EndOwner(b)
	f := PairFilter{UngradedBy: lab}

	// a claims 3 with a short TTL; b gets the other 3, then nothing.
	ca := claimIDs(t, st, f, a, 3, 150*time.Millisecond)
	cb := claimIDs(t, st, f, b, 10, time.Minute)
	if len(ca) != 3 || len(cb) != 3 || len(claimIDs(t, st, f, b, 10, time.Minute)) != 0 {
		t.Fatalf("claims a %v b %v", ca, cb)
	}
	// A verdict releases a's claim on the pair; a retried attempt keeps it.
	retrying := Judgment{PairID: ca[0], LabelerID: lab, Status: StatusUnparseable, Retrying: true}
	if err := st.PutJudgment(ctx, &retrying); err != nil {
		t.Fatal(err)
	}
	var held int
	st.DB().QueryRow(`SELECT count(*) FROM leases WHERE owner = ?`, a).Scan(&held)
	if held != 3 {
		t.Fatalf("a holds %d claims after a retried attempt, want 3", held)
	}
	put(t, st, lab, ca[1], 2, StatusOK)
	st.DB().QueryRow(`SELECT count(*) FROM leases WHERE owner = ?`, a).Scan(&held)
	if held != 2 {
		t.Fatalf("a holds %d claims after a verdict, want 2", held)
	}
	// b sees a's pairs as held by another owner.
	if n, _ := st.CountPairs(ctx, PairFilter{UngradedBy: lab, ClaimedByOther: b}); n != 2 {
		t.Fatalf("%d pairs claimed by others than b, want 2 (ca[0] retrying, ca[2])", n)
	}
	// Renewed, a's claims outlive their first TTL; unrenewed, they expire and
	// b takes them over.
	time.Sleep(80 * time.Millisecond)
	if err := st.RenewClaims(ctx, a, 0, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := claimIDs(t, st, f, b, 10, time.Minute); len(got) != 0 {
		t.Fatalf("b took renewed claims %v", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := claimIDs(t, st, f, b, 10, time.Minute); fmt.Sprint(got) != fmt.Sprint([]int64{ca[0], ca[2]}) {
		t.Fatalf("b took over %v, want %v", got, []int64{ca[0], ca[2]})
	}
	// ReleaseClaims frees everything b holds.
	if err := st.ReleaseClaims(ctx, b); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, "leases"); n != 0 {
		t.Fatalf("%d claims left after release", n)
	}

	// A gone owner's live claims are freed at once; a live owner's are not.
	c := NewOwner()
	claimIDs(t, st, f, c, 2, time.Hour)
	claimIDs(t, st, f, b, 1, time.Hour)
	if n, err := st.FreeDeadClaims(ctx, lab, b); err != nil || n != 0 {
		t.Fatalf("freed %d claims of live owners: %v", n, err)
	}
	EndOwner(c)
	if n, err := st.FreeDeadClaims(ctx, lab, b); err != nil || (thisMachine() != "" && n != 2) {
		t.Fatalf("freed %d claims of an ended owner, want 2: %v", n, err)
	}
}

// TestOwnerGoneWhenProcessExits: the claims of another process of this
// machine are known dead once that process is gone.
func TestOwnerGoneWhenProcessExits(t *testing.T) {
	if thisMachine() == "" {
		t.Skip("no boot id on this system: claims of other processes only expire")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("cannot start a child process:", err)
	}
	owner := fmt.Sprintf("%s/%d/abc", thisMachine(), cmd.Process.Pid)
	if ownerGone(owner) {
		t.Fatal("a live process's owner reads as gone")
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !ownerGone(owner) {
		t.Fatal("a dead process's owner reads as live")
	}
	// Another machine's owner is never known gone (its claims expire); a
	// token of this process that nothing here holds is.
	if ownerGone("other-host/boot/1/abc") {
		t.Fatal("another machine's owner reads as gone")
	}
	if !ownerGone(fmt.Sprintf("%s/%d/unheld", thisMachine(), os.Getpid())) {
		t.Fatal("an unheld token of this process reads as live")
	}
}

func TestPairFilterFailuresAreNotGrades(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	ids := fixture(t, st, 1, 6)
	lab := modelLabeler(t, st, "gpt")
	r1 := Run{Kind: RunLabeling, LabelerID: lab}
	if err := st.StartRun(ctx, &r1); err != nil {
		t.Fatal(err)
	}
	putRun := func(pair int64, status string, run int64, retrying bool) {
		t.Helper()
		j := Judgment{PairID: pair, LabelerID: lab, Status: status, RunID: run, Retrying: retrying}
		if status == StatusOK {
			j.Grade = 1
		}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	putRun(ids[0], StatusOK, r1.ID, false)
	putRun(ids[1], StatusUnparseable, r1.ID, false)
	putRun(ids[2], StatusRefused, r1.ID, false)
	putRun(ids[3], StatusError, 0, false)
	putRun(ids[4], StatusUnparseable, r1.ID, true) // a retry in progress, not r1's verdict
	n := func(f PairFilter) int {
		t.Helper()
		c, err := st.CountPairs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Only the ok grade counts as graded.
	if got := n(PairFilter{UngradedBy: lab}); got != 5 {
		t.Fatalf("plain: %d pending, want 5", got)
	}
	// Within run 1, its verdicts (ok or failed) are finished; its retried
	// attempt and the others are not.
	if got := n(PairFilter{UngradedBy: lab, FinishedIn: []int64{r1.ID}}); got != 3 {
		t.Fatalf("in run 1: %d pending, want 3 (error, retrying, ungraded)", got)
	}
	// Regrade: everything but what run 1 finished.
	if got := n(PairFilter{UngradedBy: lab, Regrade: true, FinishedIn: []int64{r1.ID}}); got != 3 {
		t.Fatalf("regrade in run 1: %d pending, want 3", got)
	}
	if got := n(PairFilter{UngradedBy: lab, Regrade: true}); got != 6 {
		t.Fatalf("regrade: %d pending, want 6", got)
	}
}

func TestResumableRunNeverTwoProcesses(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	lab := modelLabeler(t, st, "gpt")
	params := json.RawMessage(`{}`)
	a := NewOwner()
	r := Run{Kind: RunLabeling, LabelerID: lab, Params: params, Owner: a, AliveUntil: time.Now().Add(time.Minute)}
	if err := st.StartRun(ctx, &r); err != nil {
		t.Fatal(err)
	}
	b := NewOwner()
	defer EndOwner(b)
	// a is alive: b does not resume a's run, and sees it as a peer.
	if _, ok, err := st.ResumableRun(ctx, RunLabeling, lab, params, b, time.Minute); err != nil || ok {
		t.Fatalf("b resumed a live run (%v, %v)", ok, err)
	}
	if peers, _ := st.LiveRuns(ctx, RunLabeling, lab, 0); fmt.Sprint(peers) != fmt.Sprint([]int64{r.ID}) {
		t.Fatalf("live runs %v", peers)
	}
	// a's process is gone (on this machine) or its liveness lapsed: b takes
	// the run over, once.
	EndOwner(a)
	if thisMachine() == "" {
		st.DB().Exec(`UPDATE runs SET alive_until = 1`)
	}
	got, ok, err := st.ResumableRun(ctx, RunLabeling, lab, params, b, time.Minute)
	if err != nil || !ok || got.ID != r.ID || got.Owner != b {
		t.Fatalf("b did not take over the dead run: %+v %v %v", got, ok, err)
	}
	c := NewOwner()
	defer EndOwner(c)
	if _, ok, _ := st.ResumableRun(ctx, RunLabeling, lab, params, c, time.Minute); ok {
		t.Fatal("c resumed the run b had just taken")
	}
	// A dead running run with other parameters is passed over and marked
	// interrupted, so it does not read as running forever.
	d := NewOwner()
	other := Run{Kind: RunLabeling, LabelerID: lab, Params: json.RawMessage(`{"all":true}`), Owner: d, AliveUntil: time.Now().Add(time.Minute)}
	st.StartRun(ctx, &other)
	EndOwner(d)
	if thisMachine() == "" {
		st.DB().Exec(`UPDATE runs SET alive_until = 1 WHERE id = ?`, other.ID)
	}
	EndOwner(b)
	st.ResumableRun(ctx, RunLabeling, lab, params, c, time.Minute)
	o, _ := st.Run(ctx, other.ID)
	if o.Status != RunInterrupted || !strings.Contains(o.Error, "process stopped without finishing") {
		t.Fatalf("dead run passed over: %+v", o)
	}
}
