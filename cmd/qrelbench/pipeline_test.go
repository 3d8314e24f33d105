package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// pipelineWorkspace creates a workspace file with 3 queries × 4 documents.
func pipelineWorkspace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ws.db")
	st, err := store.Create(ctx, path, store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	docs := []store.Document{
		{ExtID: "a", Title: "Falcon roadmap", Body: "The falcon roadmap for the quarter."},
		{ExtID: "b", Title: "Falcon", Body: "Falcon team notes."},
		{ExtID: "c", Title: "Planning", Body: "Roadmap planning guidance for every team."},
		{ExtID: "e", Title: "Lunch menu", Body: "Pizza with salad."},
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := range docs {
			if _, err := tx.PutDocument(ctx, &docs[i], false); err != nil {
				return err
			}
		}
		for i, text := range []string{"falcon roadmap", `"falcon" NEAR(roadmap*`, "lunch"} {
			q := store.Query{ExtID: fmt.Sprintf("q%d", i+1), Text: text}
			if _, err := tx.PutQuery(ctx, &q, false); err != nil {
				return err
			}
			for _, d := range docs {
				p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return out.String(), errb.String(), err
}

func TestCLILabelLexical(t *testing.T) {
	db := pipelineWorkspace(t)
	out, stderr, err := runCLI(t, "--db", db, "label", "--labeler", "lexical")
	if err != nil {
		t.Fatalf("label: %v\n%s", err, stderr)
	}
	want := regexp.MustCompile(`^labeling run (\d+) \(lexical\): 12 pairs graded, 0 failed, 0\+0 tokens, \$0\.0000\n$`)
	if !want.MatchString(out) {
		t.Fatalf("stdout %q", out)
	}
	// The progress printer wrote the finished line to stderr (not a tty).
	if !strings.Contains(stderr, "labeling lexical 12/12") || !strings.Contains(stderr, "done in") {
		t.Fatalf("stderr %q", stderr)
	}

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	lab, _ := st.Labeler(context.Background(), "lexical")
	grades, err := st.Grades(context.Background(), lab.ID)
	st.Close()
	if err != nil || len(grades) != 12 {
		t.Fatalf("%d grades stored: %v", len(grades), err)
	}

	// Nothing left: the rerun grades nothing; --all regrades the 12; the
	// flag may come after the subcommand.
	out, _, err = runCLI(t, "label", "--labeler", "lexical", "--db", db)
	if err != nil || !strings.HasPrefix(out, "nothing to grade: every selected pair already has a grade by lexical") {
		t.Fatalf("rerun: %q %v", out, err)
	}
	out, _, err = runCLI(t, "--db", db, "label", "--labeler", "bm25", "--query", "q1,q3", "--limit", "5")
	if err != nil || !regexp.MustCompile(`^labeling run \d+ \(bm25\): 5 pairs graded, 0 failed`).MatchString(out) {
		t.Fatalf("bm25 --query --limit: %q %v", out, err)
	}
	out, _, err = runCLI(t, "--db", db, "label", "--labeler", "lexical", "--all")
	if err != nil || !strings.Contains(out, ": 12 pairs graded") {
		t.Fatalf("--all: %q %v", out, err)
	}
}

func TestCLILabelErrors(t *testing.T) {
	db := pipelineWorkspace(t)
	if _, _, err := runCLI(t, "--db", db, "label"); err == nil || !strings.Contains(err.Error(), "--labeler") {
		t.Fatalf("missing --labeler: %v", err)
	}
	if _, _, err := runCLI(t, "--db", db, "label", "--labeler", "nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("unknown labeler: %v", err)
	}
	if _, _, err := runCLI(t, "--db", filepath.Join(t.TempDir(), "none.db"), "label", "--labeler", "lexical"); err == nil {
		t.Fatal("label on a missing workspace succeeded")
	}
}

func TestCLIMineAndSynth(t *testing.T) {
	db := pipelineWorkspace(t)
	out, _, err := runCLI(t, "--db", db, "synth", "--docs", "2", "--per-doc", "2")
	if err != nil || !strings.Contains(out, "2 seed documents, 0 failed") {
		t.Fatalf("synth: %q %v", out, err)
	}
	out, _, err = runCLI(t, "--db", db, "mine", "--negatives", "2")
	if err != nil || !strings.Contains(out, "queries searched") {
		t.Fatalf("mine: %q %v", out, err)
	}
}
