package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// importedWorkspace imports a pairs file that carries human grades, as
// `qrelbench import pairs` does.
func importedWorkspace(t testing.TB, file string) *fixture {
	t.Helper()
	ctx := context.Background()
	st := emptyStore(t)
	if _, err := ingest.ImportPairs(ctx, st, file, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st}
}

// smallImported is a built pairs file: 2 queries × 3 documents, each with a
// human grade.
func smallImported(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for q := 1; q <= 2; q++ {
		for d := 1; d <= 3; d++ {
			fmt.Fprintf(&b, `{"query_id":"q%d","query_text":"query number %d","doc_id":"d%d","doc_text":"document %d about things","title":"Doc %d","human_grade":%d}`+"\n", q, q, d, d, d, (q+d)%4)
		}
	}
	p := filepath.Join(t.TempDir(), "pairs.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func statusOf(d *driver) string {
	lines := strings.Split(d.screen(), "\n")
	return lines[len(lines)-2]
}

func judgedBy(t testing.TB, st *store.Store, name string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE l.name = ?`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkImportedK is issue 12.1 on a workspace whose n pairs all carry an
// imported human grade: at K=1 nothing is served and the screen says why,
// from whom and how to grade anyway, with "left 0"; at K=2 every pair is
// served, "left" counts them, and grading takes them one by one.
func checkImportedK(t *testing.T, f *fixture, n int) {
	ctx := context.Background()
	opts := Options{Annotator: "alice", Relaunch: "qrelbench --db w.db tui --as alice"}
	d := newDriver(t, f, opts, 100, 30)
	if d.curPair() != 0 {
		t.Fatalf("K=1 served pair %d although every pair has its human grade", d.curPair())
	}
	s := d.screen()
	for _, want := range []string{
		"Nothing left for you to grade at K = 1.",
		fmt.Sprintf("%s without your grade already have 1 human grade, from human:imported (%s)", words.Count(n, "pair"), words.Int(n)),
		"qrelbench --db w.db tui --as alice --k 2",
	} {
		if !strings.Contains(strings.Join(strings.Fields(s), " "), want) {
			t.Errorf("K=1: %q not on the screen:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Every pair has your grade") {
		t.Errorf("K=1 screen claims alice graded everything:\n%s", s)
	}
	if st := statusOf(d); !strings.Contains(st, "graded by me 0 · left 0 · ") || !strings.Contains(st, "already have 1 human grade") {
		t.Errorf("K=1 status line: %q", st)
	}
	// A served session says whom to ask instead.
	served := newDriver(t, f, Options{Annotator: "carol"}, 100, 30)
	if s := strings.Join(strings.Fields(served.screen()), " "); !strings.Contains(s, "ask whoever runs `qrelbench serve` to restart it with --k 2") {
		t.Errorf("served session's hint:\n%s", served.screen())
	}

	if err := f.st.SetAssignK(ctx, 2); err != nil {
		t.Fatal(err)
	}
	d = newDriver(t, f, opts, 100, 30)
	if d.curPair() == 0 {
		t.Fatalf("K=2 served nothing:\n%s", d.screen())
	}
	if st := statusOf(d); !strings.Contains(st, fmt.Sprintf("left %s", words.Int(n))) {
		t.Errorf("K=2 status line: %q, want left %d", st, n)
	}
	graded := min(n, 3)
	for i := 0; i < graded; i++ {
		d.keys("2")
	}
	if got := judgedBy(t, f.st, "human:alice"); got != graded {
		t.Fatalf("alice's judgments in the database: %d, want %d", got, graded)
	}
	want := fmt.Sprintf("left %s", words.Int(n-graded))
	if st := statusOf(d); !strings.Contains(st, want) {
		t.Errorf("after %d grades, status line %q, want %q", graded, st, want)
	}
	d.run(d.m.grade.progressCmd(d.m)) // the count read again agrees
	if st := statusOf(d); !strings.Contains(st, want) {
		t.Errorf("after a recount, status line %q, want %q", st, want)
	}
	w, err := f.st.Workload(ctx, d.m.me.ID, 0)
	if err != nil || w.Left != n-graded || w.K != 2 {
		t.Errorf("workload %+v %v", w, err)
	}
}

func TestImportedGradesSmall(t *testing.T) {
	f := importedWorkspace(t, smallImported(t))
	checkImportedK(t, f, 6)
	// At K=2, once alice graded every pair, bob is told both names.
	d := newDriver(t, f, Options{Annotator: "alice"}, 100, 30)
	for i := 0; i < 10 && d.curPair() != 0; i++ {
		d.keys("1")
	}
	bob := newDriver(t, f, Options{Annotator: "bob"}, 100, 30)
	if s := strings.Join(strings.Fields(bob.screen()), " "); !strings.Contains(s, "6 pairs without your grade already have 2 human grades, from human:alice (6), human:imported (6)") {
		t.Errorf("bob at K=2:\n%s", bob.screen())
	}
}

func TestImportedGradesBenchmark(t *testing.T) {
	file := filepath.Join(storetest.DataDir(t), "llmjudge", "test-visible.jsonl")
	if _, err := os.Stat(file); err != nil {
		t.Skipf("no %s: %v", file, err)
	}
	f := importedWorkspace(t, file)
	checkImportedK(t, f, 2123)
}
