package ingest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// storedRuns renders every stored system's results as "system qid docid
// score rank" lines, sorted.
func storedRuns(t *testing.T, st *store.Store) string {
	t.Helper()
	rows, err := st.DB().Query(`SELECT s.name, q.ext_id, d.ext_id, r.score, r.rank FROM system_results r
		JOIN systems s ON s.id = r.system_id JOIN queries q ON q.id = r.query_id JOIN documents d ON d.id = r.doc_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s, q, d string
		var score float64
		var rank int
		rows.Scan(&s, &q, &d, &score, &rank)
		out = append(out, fmt.Sprintf("%s %s %s %g %d", s, q, d, score, rank))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestRunImportReimportReplace(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	dir := t.TempDir()
	two := "sq0 Q0 sd0 1 3.5 a\nsq0 Q0 sd4 2 1e-3 a\nsq1 0 sd1 1 -2 a\n" +
		"# a comment\n\nsq0 Q0 sd0 5 0.25 b\r\nsq2 Q0 sd2 1 7 b\n"
	path := writeFile(t, dir, "two.run", two)
	sum, err := ImportRun(ctx, st, path, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted["systems"] != 2 || sum.Inserted["results"] != 5 || !sum.Changed() {
		t.Fatalf("summary %s", sum)
	}
	want := "a sq0 sd0 3.5 1\na sq0 sd4 0.001 2\na sq1 sd1 -2 1\nb sq0 sd0 0.25 5\nb sq2 sd2 7 1"
	stored := storedRuns(t, st)
	if !strings.HasPrefix(stored, want) {
		t.Fatalf("stored\n%s\nwant first\n%s", stored, want)
	}

	// The same file, and the same lines in another order inside another
	// file, change nothing.
	before := counts(t, st)
	for _, content := range []string{two, "sq2 Q0 sd2 1 7 b\nsq1 0 sd1 1 -2 a\nsq0 Q0 sd0 5 0.25 b\nsq0 Q0 sd4 2 0.001 a\nsq0 Q0 sd0 1 3.50 a\n"} {
		sum, err = ImportRun(ctx, st, writeFile(t, dir, "again.run", content), RunOptions{})
		if err != nil || sum.Changed() || sum.Unchanged["systems"] != 2 || !strings.HasPrefix(sum.String(), "nothing changed") {
			t.Fatalf("re-import: %v %v", sum, err)
		}
	}
	if counts(t, st) != before || storedRuns(t, st) != stored {
		t.Fatal("a re-import changed the workspace")
	}

	// A file with a changed a and a new c is refused whole: c is not kept.
	changed := writeFile(t, dir, "changed.run", "sq3 Q0 sd3 1 1 c\nsq0 Q0 sd0 1 3.5 a\nsq0 Q0 sd4 2 0.002 a\nsq1 0 sd1 1 -2 a\n")
	_, err = ImportRun(ctx, st, changed, RunOptions{})
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), changed+":2:") || !strings.Contains(err.Error(), `system "a"`) {
		t.Fatalf("changed run: %v", err)
	}
	if counts(t, st) != before {
		t.Fatal("a refused run kept something")
	}
	sum, err = ImportRun(ctx, st, changed, RunOptions{Replace: true})
	if err != nil || sum.Updated["systems"] != 1 || sum.Inserted["systems"] != 1 || sum.Updated["results"] != 3 {
		t.Fatalf("replace: %v %v", sum, err)
	}
	if got := storedRuns(t, st); !strings.Contains(got, "a sq0 sd4 0.002 2") || strings.Contains(got, "a sq0 sd4 0.001") || !strings.Contains(got, "b sq2 sd2 7 1") || !strings.Contains(got, "c sq3 sd3 1 1") {
		t.Fatalf("after replace:\n%s", got)
	}

	// --system files every tag under one name.
	sum, err = ImportRun(ctx, st, writeFile(t, dir, "one.run", "sq0 Q0 sd0 1 1 x\nsq1 Q0 sd1 1 1 y\n"), RunOptions{System: "merged"})
	if err != nil || sum.Inserted["systems"] != 1 || sum.Inserted["results"] != 2 {
		t.Fatalf("--system: %v %v", sum, err)
	}
	if got := storedRuns(t, st); !strings.Contains(got, "merged sq0 sd0 1 1\nmerged sq1 sd1 1 1") {
		t.Fatalf("--system stored:\n%s", got)
	}
	if _, err := ImportRun(ctx, st, path, RunOptions{System: "two words"}); err == nil || !strings.Contains(err.Error(), "--system") {
		t.Fatalf("bad --system: %v", err)
	}
}

func TestRunImportSkipUnknown(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	path := writeFile(t, t.TempDir(), "holes.run", "sq0 Q0 sd0 1 3 h\nsq0 Q0 elsewhere 2 2 h\nnoq Q0 sd0 1 1 h\nsq1 Q0 sd1 1 1 h\n")
	sum, err := ImportRun(ctx, st, path, RunOptions{SkipUnknown: true})
	if err != nil || sum.Skipped != 2 || sum.Inserted["results"] != 2 || !strings.Contains(sum.String(), "skipped 2 lines naming an unknown query or document") {
		t.Fatalf("skip unknown: %v %v", sum, err)
	}
	// Skipping again gives the same content: unchanged.
	if sum, err = ImportRun(ctx, st, path, RunOptions{SkipUnknown: true}); err != nil || sum.Changed() {
		t.Fatalf("skip unknown again: %v %v", sum, err)
	}
	only := writeFile(t, t.TempDir(), "none.run", "noq Q0 sd0 1 1 h\n")
	if _, err := ImportRun(ctx, st, only, RunOptions{SkipUnknown: true}); err == nil || !strings.Contains(err.Error(), "nothing to import") {
		t.Fatalf("all unknown: %v", err)
	}
}
