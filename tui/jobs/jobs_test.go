package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/tui"
)

func job(t *testing.T, kind string) tui.Job {
	t.Helper()
	for _, j := range Default() {
		if j.Kind == kind {
			return j
		}
	}
	t.Fatalf("no %s job", kind)
	return tui.Job{}
}

// run starts the job and returns its last progress notice and error.
func run(t *testing.T, st *store.Store, kind string, a tui.JobArgs) (tui.Progress, error) {
	t.Helper()
	var last tui.Progress
	err := job(t, kind).Start(context.Background(), st, a, func(p tui.Progress) {
		if p.Notice != "" || p.LastError != "" {
			last = p
		}
	})
	return last, err
}

func emptyStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestNothingToDoSaysWhy: a run with no work ends with a notice that says
// what is missing and what to do, not "done 0/0".
func TestNothingToDoSaysWhy(t *testing.T) {
	st := emptyStore(t)
	cases := []struct {
		kind string
		a    tui.JobArgs
		want string
	}{
		{store.RunSynthesis, tui.JobArgs{Labeler: "offline", Limit: 10}, "no documents to write queries from: import documents first"},
		{store.RunMining, tui.JobArgs{Limit: 10}, "no queries yet: import them, or write some from documents (synthesis)"},
		{store.RunLabeling, tui.JobArgs{Labeler: "lexical"}, "no pairs yet: import pairs, or mine them"},
	}
	for _, c := range cases {
		p, err := run(t, st, c.kind, c.a)
		if err != nil || !strings.Contains(p.Notice, "nothing to do: ") || !strings.Contains(p.Notice, c.want) || !p.Finished {
			t.Errorf("%s on an empty workspace: %+v %v", c.kind, p, err)
		}
	}
	// With documents, queries and pairs: what is done is done.
	ctx := context.Background()
	for i, body := range []string{"reset the vpn password in the portal", "the vpn portal password policy and reset rules"} {
		d := store.Document{ExtID: fmt.Sprintf("d%d", i), Title: "VPN", Body: body}
		if _, err := st.PutDocument(ctx, &d, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, st, store.RunSynthesis, tui.JobArgs{Labeler: "offline"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := run(t, st, store.RunSynthesis, tui.JobArgs{Labeler: "offline"}); !strings.Contains(p.Notice, "every document already has queries written by offline") {
		t.Errorf("second synthesis: %+v", p)
	}
	if _, err := run(t, st, store.RunMining, tui.JobArgs{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if p, _ := run(t, st, store.RunMining, tui.JobArgs{Limit: 5}); !strings.Contains(p.Notice, "every query already has BM25 negatives") {
		t.Errorf("second mining: %+v", p)
	}
	if _, err := run(t, st, store.RunLabeling, tui.JobArgs{Labeler: "lexical"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := run(t, st, store.RunLabeling, tui.JobArgs{Labeler: "lexical"}); !strings.Contains(p.Notice, "every pair already has a judgment by lexical") {
		t.Errorf("second labeling: %+v", p)
	}
}

// TestTrainingNamesTheStudent: the student gets the name the form gave,
// and a teacher without grades fails saying so.
func TestTrainingNamesTheStudent(t *testing.T) {
	st := emptyStore(t)
	ctx := context.Background()
	judge := store.Labeler{Name: "judge", Kind: store.KindImported}
	if err := st.AddLabeler(ctx, &judge); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, st, store.RunTraining, tui.JobArgs{Labeler: "judge", Name: "my-student"}); err == nil || !strings.Contains(err.Error(), "has no grades") {
		t.Fatalf("teacher without grades: %v", err)
	}
	for i := 0; i < 12; i++ {
		d := store.Document{ExtID: fmt.Sprintf("d%d", i), Title: fmt.Sprintf("doc %d", i), Body: fmt.Sprintf("vpn password reset step %d", i)}
		if _, err := st.PutDocument(ctx, &d, false); err != nil {
			t.Fatal(err)
		}
		q := store.Query{ExtID: fmt.Sprintf("q%d", i%3), Text: fmt.Sprintf("vpn reset %d", i%3)}
		if _, err := st.PutQuery(ctx, &q, false); err != nil {
			t.Fatal(err)
		}
		p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceImported}
		if _, err := st.PutPair(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := st.PutJudgment(ctx, &store.Judgment{PairID: p.ID, LabelerID: judge.ID, Grade: i % 4, Status: store.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := run(t, st, store.RunTraining, tui.JobArgs{Labeler: "judge", Name: "my-student"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Notice, "my-student learned from 12 pairs of 3 queries") {
		t.Errorf("notice %q", p.Notice)
	}
	if l, err := st.Labeler(ctx, "my-student"); err != nil || l.Kind != store.KindStudent {
		t.Fatalf("my-student: %+v %v", l, err)
	}
	if _, err := st.Labeler(ctx, StudentName("judge")); err == nil {
		t.Fatal("the default name was created too")
	}
}

// TestPoolJob: without systems the pool job says what to import; with one,
// it pools and says what the pool holds, and a second run adds nothing.
func TestPoolJob(t *testing.T) {
	st := emptyStore(t)
	ctx := context.Background()
	if p, err := run(t, st, store.RunPooling, tui.JobArgs{Limit: 2}); err != nil || !strings.Contains(p.Notice, "no search systems yet") {
		t.Fatalf("no systems: %+v %v", p, err)
	}
	q := store.Query{ExtID: "q", Text: "t"}
	st.PutQuery(ctx, &q, false)
	var rs []store.SystemResult
	for i := 0; i < 3; i++ {
		d := store.Document{ExtID: fmt.Sprintf("d%d", i), Body: "b"}
		st.PutDocument(ctx, &d, false)
		rs = append(rs, store.SystemResult{QueryID: q.ID, DocID: d.ID, Score: float64(i), Rank: 3 - i})
	}
	if _, err := st.PutSystem(ctx, &store.System{Name: "s", ContentSHA256: "h"}, rs, false); err != nil {
		t.Fatal(err)
	}
	if p, err := run(t, st, store.RunPooling, tui.JobArgs{Limit: 2}); err != nil || !strings.Contains(p.Notice, "2 new pairs added — pool of 2 pairs from 1 system at depth 2; none graded yet") {
		t.Fatalf("pool: %+v %v", p, err)
	}
	if p, err := run(t, st, store.RunPooling, tui.JobArgs{Limit: 2}); err != nil || !strings.Contains(p.Notice, "nothing to do: already pooled") {
		t.Fatalf("pool again: %+v %v", p, err)
	}
}
