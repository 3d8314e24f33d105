package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/tui"
)

// stubTUI records the options the workbench would have been opened with.
func stubTUI(t *testing.T) *[]tui.Options {
	t.Helper()
	var got []tui.Options
	prev := openTUI
	openTUI = func(_ context.Context, _ *env, _ *store.Store, opts tui.Options) error {
		got = append(got, opts)
		return nil
	}
	t.Cleanup(func() { openTUI = prev })
	return &got
}

func assignK(t *testing.T, db string) int {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, err := st.AssignK(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Issue 12.1: `tui` takes --k like `serve`, and the bare command takes the
// flags of `tui` (it opens the workbench).
func TestBareCommandTakesTUIFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ws.db")
	mustCLI(t, db, "init")
	got := stubTUI(t)

	mustCLI(t, db, "--as", "bob", "--k", "2")
	if len(*got) != 1 || (*got)[0].Annotator != "bob" || !(*got)[0].Blind {
		t.Fatalf("bare command opened %+v", *got)
	}
	if k := assignK(t, db); k != 2 {
		t.Fatalf("--k 2 on the bare command: K = %d", k)
	}
	if r := (*got)[0].Relaunch; r != "qrelbench --db "+db+" tui --as bob" {
		t.Errorf("relaunch command %q", r)
	}
	mustCLI(t, db, "tui", "--k", "3", "--priority")
	if k := assignK(t, db); k != 3 || !(*got)[1].Priority {
		t.Fatalf("tui --k 3: K = %d, %+v", k, (*got)[1])
	}
	// Without --k the workspace's K stays.
	mustCLI(t, db)
	if k := assignK(t, db); k != 3 || len(*got) != 3 {
		t.Fatalf("bare command without --k: K = %d", k)
	}
	if _, _, err := coreCLI(t, db, "--k", "0.5"); err == nil {
		t.Error("a K that is not a number was accepted")
	}
	if _, _, err := coreCLI(t, db, "--k", "101"); err == nil || !strings.Contains(err.Error(), "between 1 and 100") {
		t.Errorf("K = 101: %v", err)
	}
	// Unknown flags are still refused, naming the flag.
	if _, errOut, err := coreCLI(t, db, "--nope"); err == nil || !strings.Contains(errOut+err.Error(), "nope") {
		t.Errorf("--nope: %v %s", err, errOut)
	}
}

func TestVersion(t *testing.T) {
	out := mustCLI(t, filepath.Join(t.TempDir(), "none.db"), "--version")
	if !strings.HasPrefix(out, "qrelbench ") || !strings.Contains(out, "go1.") {
		t.Fatalf("--version printed %q", out)
	}
}

// `go run` leaves no binary: hints then say the go run command.
func TestBuiltByGoRun(t *testing.T) {
	for exe, want := range map[string]bool{
		"/tmp/go-build1234567/b001/exe/qrelbench":            true,
		"/home/a/.cache/gotmp/go-build99/b001/exe/qrelbench": true,
		"/usr/local/bin/qrelbench":                           false,
		"/tmp/go-build1234567/b001/qrelbench.test":           false,
		"/home/a/exe/qrelbench":                              false,
	} {
		if got := builtByGoRun(exe); got != want {
			t.Errorf("builtByGoRun(%q) = %v, want %v", exe, got, want)
		}
	}
}

// Issue 12.14: stats says what to run next while there are no pairs.
func TestStatsHintsTheNextStep(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	if out := mustCLI(t, db, "stats"); !strings.Contains(out, "next: no pairs to grade yet") || !strings.Contains(out, "import docs") {
		t.Fatalf("empty workspace:\n%s", out)
	}
	mustCLI(t, db, "import", "docs", cliFile(t, dir, "docs.jsonl", `{"id":"d1","text":"bees make honey"}`+"\n"+`{"id":"d2","text":"how honey is made by bees"}`+"\n"))
	if out := mustCLI(t, db, "stats"); !strings.Contains(out, "no queries yet") || !strings.Contains(out, "synth --labeler offline") {
		t.Fatalf("documents only:\n%s", out)
	}
	mustCLI(t, db, "import", "queries", cliFile(t, dir, "q.tsv", "q1\thow is honey made\n"))
	out := mustCLI(t, db, "stats")
	if !strings.Contains(out, "no pairs yet: run `qrelbench --db "+db+" mine`") {
		t.Fatalf("documents and queries, no pairs:\n%s", out)
	}
	mustCLI(t, db, "mine")
	if out := mustCLI(t, db, "stats"); strings.Contains(out, "next:") || strings.Contains(out, "pairs 0") {
		t.Fatalf("after mine:\n%s", out)
	}
}

// Issue 12.15: guidelines come in with init --guidelines or guidelines set,
// are stored in the workspace, and guidelines show prints them back.
func TestGuidelinesCLI(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	bad := cliFile(t, dir, "bad.md", "\xff\xfe binary")
	if _, _, err := coreCLI(t, db, "init", "--guidelines", bad); err == nil || !strings.Contains(err.Error(), "bad.md") {
		t.Fatalf("init with a bad guidelines file: %v", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("a refused guidelines file left a workspace behind")
	}
	g := cliFile(t, dir, "g.md", "# Rules\n\nGrade the answer.\n")
	if out := mustCLI(t, db, "init", "--guidelines", g); !strings.Contains(out, "guidelines from "+g) {
		t.Fatalf("init --guidelines: %q", out)
	}
	if out := mustCLI(t, db, "guidelines", "show"); out != "# Rules\n\nGrade the answer.\n" {
		t.Fatalf("guidelines show: %q", out)
	}
	g2 := cliFile(t, dir, "g2.md", "Be brief.")
	mustCLI(t, db, "guidelines", "set", g2)
	if out := mustCLI(t, db, "guidelines", "show"); out != "Be brief.\n" {
		t.Fatalf("after set: %q", out)
	}
	if _, _, err := coreCLI(t, db, "guidelines", "set", filepath.Join(dir, "missing.md")); err == nil {
		t.Fatal("a missing file was accepted")
	}
	if _, _, err := coreCLI(t, db, "guidelines", "set", dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a folder: %v", err)
	}
	mustCLI(t, db, "guidelines", "clear")
	if out := mustCLI(t, db, "guidelines", "show"); !strings.Contains(out, "no guidelines") {
		t.Fatalf("after clear: %q", out)
	}
}
