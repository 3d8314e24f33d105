package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// systemsWorkspace is a small workspace with two queries of three
// documents, graded by human:imported, and the run file of two systems.
func systemsWorkspace(t *testing.T) (dir, db, run string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	var pairs strings.Builder
	for _, q := range []string{"q1", "q2"} {
		for i, d := range []string{"d1", "d2", "d3"} {
			pairs.WriteString(`{"query_id":"` + q + `","query_text":"text of ` + q + `","doc_id":"` + d + `","doc_text":"passage ` + d + `","human_grade":` + string(rune('0'+i)) + "}\n")
		}
	}
	mustCLI(t, db, "import", "pairs", cliFile(t, dir, "pairs.jsonl", pairs.String()))
	run = cliFile(t, dir, "two.run", "q1 Q0 d3 1 3 good\nq1 Q0 d2 2 2 good\nq1 Q0 d1 3 1 good\nq2 Q0 d3 1 1 good\n"+
		"q1 Q0 d1 1 9 bad\nq2 Q0 d1 1 9 bad\nq2 Q0 d2 2 8 bad\n")
	return dir, db, run
}

func TestCLIImportRunAndSystems(t *testing.T) {
	dir, db, run := systemsWorkspace(t)
	out := mustCLI(t, db, "import", "run", run)
	if !strings.Contains(out, "systems: 2 new") || !strings.Contains(out, "results: 7 new") {
		t.Fatalf("import run: %q", out)
	}
	if out = mustCLI(t, db, "import", "run", run); !strings.HasPrefix(out, "nothing changed") {
		t.Fatalf("re-import: %q", out)
	}
	changed := cliFile(t, dir, "changed.run", "q1 Q0 d1 1 9 bad\n")
	_, _, err := coreCLI(t, db, "import", "run", changed)
	if err == nil || !strings.Contains(err.Error(), `system "bad" is stored with different results (use --replace`) || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("changed run: %v", err)
	}
	if out = mustCLI(t, db, "import", "run", changed, "--replace"); !strings.Contains(out, "systems: 0 new, 1 updated") {
		t.Fatalf("replace: %q", out)
	}
	unknown := cliFile(t, dir, "unknown.run", "q1 Q0 d1 1 9 third\nq7 Q0 d1 1 9 third\n")
	if _, _, err := coreCLI(t, db, "import", "run", unknown); err == nil || !strings.Contains(err.Error(), `1 lines name a query or document`) {
		t.Fatalf("unknown: %v", err)
	}
	if out = mustCLI(t, db, "import", "run", unknown, "--skip-unknown", "--system", "renamed"); !strings.Contains(out, "systems: 1 new") || !strings.Contains(out, "skipped 1 lines") {
		t.Fatalf("skip unknown: %q", out)
	}
	out = mustCLI(t, db, "system", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "system") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "bad 1 1") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "good 2 4") ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[3]), " "), "renamed 1 1") {
		t.Fatalf("system list:\n%s", out)
	}
	if out = mustCLI(t, db, "system", "rm", "renamed"); !strings.Contains(out, "removed system renamed") {
		t.Fatalf("rm: %q", out)
	}
	if _, _, err := coreCLI(t, db, "system", "rm", "renamed"); err == nil || !strings.Contains(err.Error(), `no system "renamed"`) {
		t.Fatalf("rm twice: %v", err)
	}
	if _, _, err := coreCLI(t, db, "system"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("bare system: %v", err)
	}
}

func TestCLIPool(t *testing.T) {
	dir, db, run := systemsWorkspace(t)
	mustCLI(t, db, "import", "docs", cliFile(t, dir, "more.jsonl", `{"id":"d4","text":"a fourth passage"}`+"\n"))
	mustCLI(t, db, "import", "run", run)
	mustCLI(t, db, "import", "run", cliFile(t, dir, "third.run", "q1 Q0 d4 1 5 third\nq1 Q0 d1 2 4 third\n"))
	if _, _, err := coreCLI(t, db, "pool"); err == nil || !strings.Contains(err.Error(), "--depth") {
		t.Fatalf("pool without depth: %v", err)
	}
	out := mustCLI(t, db, "pool", "--depth", "2")
	// good: q1 d3 d2, q2 d3; bad: q1 d1, q2 d1 d2; third: q1 d4 d1.
	if !strings.Contains(out, "3 systems × 2 queries at depth 2: 7 pairs in the pool, 1 of them added as new pairs") {
		t.Fatalf("pool: %q", out)
	}
	if !regexpMatch(t, `human:imported\s+6\s+85\.7%`, out) || !regexpMatch(t, `lexical\s+0\s+0\.0%`, out) {
		t.Fatalf("graded counts: %q", out)
	}
	if out = mustCLI(t, db, "pool", "--depth", "2"); !strings.HasPrefix(out, "nothing added: 3 systems × 2 queries at depth 2: 7 pairs in the pool, already pooled") {
		t.Fatalf("pool again: %q", out)
	}
	if out = mustCLI(t, db, "pool", "--depth", "1", "--systems", "third", "--query", "q1"); !strings.HasPrefix(out, "nothing added: 1 systems × 1 queries at depth 1: 1 pairs") {
		t.Fatalf("pool shallower: %q", out)
	}
	if _, _, err := coreCLI(t, db, "pool", "--depth", "2", "--systems", "nope"); err == nil || !strings.Contains(err.Error(), `no system "nope"`) {
		t.Fatalf("unknown system: %v", err)
	}
}

func regexpMatch(t *testing.T, pattern, s string) bool {
	t.Helper()
	return regexp.MustCompile(pattern).MatchString(s)
}
