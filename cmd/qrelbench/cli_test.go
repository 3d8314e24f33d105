package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// coreCLI runs the command line in-process against the workspace db.
func coreCLI(t *testing.T, db string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}
	err = run(context.Background(), e, append([]string{"--db", db}, args...))
	return out.String(), errb.String(), err
}

func mustCLI(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, errOut, err := coreCLI(t, db, args...)
	if err != nil {
		t.Fatalf("qrelbench %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func cliFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLIInitImportExportStats(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")

	out := mustCLI(t, db, "init")
	if !strings.Contains(out, "created workspace "+db+" with scale 0-3") || !strings.Contains(out, "Perfectly relevant") {
		t.Fatalf("init output %q", out)
	}
	if _, _, err := coreCLI(t, db, "init"); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second init: %v", err)
	}

	docs := cliFile(t, dir, "docs.jsonl", `{"id":"d1","text":"bees make honey"}`+"\n"+`{"id":"d2","text":"ants build nests"}`+"\n")
	out = mustCLI(t, db, "import", "docs", docs)
	if !strings.HasPrefix(out, "imported "+docs) || !strings.Contains(out, "documents: 2 new") {
		t.Fatalf("import docs: %q", out)
	}
	out = mustCLI(t, db, "import", "docs", docs)
	if !strings.HasPrefix(out, "nothing changed") {
		t.Fatalf("re-import docs: %q", out)
	}
	queries := cliFile(t, dir, "queries.tsv", "q1\thow is honey made\nq2\twhere do ants live\n")
	mustCLI(t, db, "import", "queries", queries)

	pairs := cliFile(t, dir, "pairs.jsonl",
		`{"query_id":"q1","query_text":"how is honey made","doc_id":"d1","doc_text":"bees make honey","human_grade":3}`+"\n"+
			`{"query_id":"q1","query_text":"how is honey made","doc_id":"d2","doc_text":"ants build nests","human_grade":0}`+"\n")
	mustCLI(t, db, "import", "pairs", pairs)
	mustCLI(t, db, "import", "pairs", pairs, "--grades-as", "vendor")

	qrels := cliFile(t, dir, "run.qrels", "q2 0 d2 2\nq1 0 d1 1\nq9 0 d1 1\n")
	if _, _, err := coreCLI(t, db, "import", "qrels", qrels, "--labeler", "gpt"); err == nil ||
		!strings.Contains(err.Error(), "1 lines name a query or document") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("qrels with an unknown query: %v", err)
	}
	out = mustCLI(t, db, "import", "qrels", qrels, "--labeler", "gpt", "--skip-unknown")
	if !strings.Contains(out, "judgments: 2 new") || !strings.Contains(out, "skipped 1 lines naming an unknown") {
		t.Fatalf("import qrels: %q", out)
	}

	out = mustCLI(t, db, "export", "qrels", "--labeler", "human:imported")
	if out != "q1 0 d1 3\nq1 0 d2 0\n" {
		t.Fatalf("export qrels: %q", out)
	}
	outFile := filepath.Join(dir, "gpt.qrels")
	_, errOut, err := coreCLI(t, db, "export", "qrels", "--labeler", "gpt", "--out", outFile)
	if err != nil || !strings.Contains(errOut, "wrote 2 lines to "+outFile) {
		t.Fatalf("export --out: %v %q", err, errOut)
	}
	if b, _ := os.ReadFile(outFile); string(b) != "q1 0 d1 1\nq2 0 d2 2\n" {
		t.Fatalf("exported file %q", b)
	}
	out = mustCLI(t, db, "export", "pairs")
	if n := strings.Count(out, "\n"); n != 3 {
		t.Fatalf("export pairs: %d lines: %s", n, out)
	}

	out = mustCLI(t, db, "stats", "--json")
	var s store.Stats
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	if s.Scale != "0-3" || s.Documents != 2 || s.Queries != 2 || s.Pairs != 3 {
		t.Fatalf("stats %+v", s)
	}
	byName := map[string]store.LabelerStats{}
	for _, l := range s.Labelers {
		byName[l.Labeler] = l
	}
	if h := byName["human:imported"]; h.Kind != store.KindHuman || h.Total != 2 || h.ByGrade[3] != 1 {
		t.Fatalf("human stats %+v", h)
	}
	if v := byName["vendor"]; v.Kind != store.KindImported || v.Total != 2 {
		t.Fatalf("vendor stats %+v", v)
	}
	if g := byName["gpt"]; g.Total != 2 {
		t.Fatalf("gpt stats %+v", g)
	}
	out = mustCLI(t, db, "stats")
	if !strings.Contains(out, "documents 2   queries 2   pairs 3") || !strings.Contains(out, "human:imported") {
		t.Fatalf("stats: %s", out)
	}
}

func TestCLIFlagsAfterPositionals(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init", "--scale", "0-2")
	v1 := cliFile(t, dir, "v1.jsonl", `{"id":"d1","text":"old words"}`+"\n")
	v2 := cliFile(t, dir, "v2.jsonl", `{"id":"d1","text":"new words"}`+"\n")
	mustCLI(t, db, "import", "docs", v1)
	_, _, err := coreCLI(t, db, "import", "docs", v2)
	if err == nil || !strings.Contains(err.Error(), v2+":1:") || !strings.Contains(err.Error(), "--update") || !strings.Contains(err.Error(), "nothing was imported") {
		t.Fatalf("conflict without --update: %v", err)
	}
	out := mustCLI(t, db, "import", "docs", v2, "--update")
	if !strings.Contains(out, "1 updated") {
		t.Fatalf("import docs FILE --update: %q", out)
	}
	// --db may also follow the subcommand, and flags may sit between positionals.
	var o, e bytes.Buffer
	if err := run(context.Background(), &env{stdout: &o, stderr: &e}, []string{"stats", "--json", "--db", db}); err != nil {
		t.Fatal(err)
	}
	var s store.Stats
	if err := json.Unmarshal(o.Bytes(), &s); err != nil || s.Scale != "0-2" || s.Documents != 1 {
		t.Fatalf("stats after --db: %+v %v", s, err)
	}
	pairs := cliFile(t, dir, "p.jsonl", `{"query_id":"q","query_text":"words","doc_id":"d1","doc_text":"new words","human_grade":2}`+"\n")
	mustCLI(t, db, "import", "--grades-as", "human:carol", "pairs", pairs)
	if out := mustCLI(t, db, "export", "qrels", "--labeler=human:carol"); out != "q 0 d1 2\n" {
		t.Fatalf("export: %q", out)
	}
	// A grade outside the 0-2 scale fails the whole file.
	bad := cliFile(t, dir, "bad.jsonl", `{"query_id":"q2","query_text":"x","doc_id":"d9","doc_text":"y","human_grade":1}`+"\n"+
		`{"query_id":"q2","query_text":"x","doc_id":"d10","doc_text":"z","human_grade":3}`+"\n")
	if _, _, err := coreCLI(t, db, "import", "pairs", bad); err == nil || !strings.Contains(err.Error(), bad+":2:") || !strings.Contains(err.Error(), "0–2") {
		t.Fatalf("out-of-scale import: %v", err)
	}
	if out := mustCLI(t, db, "stats", "--json"); !strings.Contains(out, `"documents": 1`) {
		t.Fatalf("failed import kept documents: %s", out)
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{{"stats"}, {"import", "docs", "x.jsonl"}, {"export", "qrels", "--labeler", "x"}} {
		_, _, err := coreCLI(t, missing, args...)
		if err == nil || !strings.Contains(err.Error(), "qrelbench init") {
			t.Fatalf("%v on a missing workspace: %v", args, err)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("a command on a missing workspace created it")
	}
	garbage := cliFile(t, dir, "garbage.db", strings.Repeat("\xde\xad\xbe\xef not sqlite ", 500))
	if _, _, err := coreCLI(t, garbage, "stats"); err == nil || !strings.Contains(err.Error(), "not a readable qrelbench workspace") {
		t.Fatalf("stats on garbage: %v", err)
	}

	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	cases := [][]string{
		{"frobnicate"},
		{"init", "--scale", "1-10"},
		{"import"},
		{"import", "docs"},
		{"import", "widgets", "x"},
		{"import", "docs", filepath.Join(dir, "nope.jsonl")},
		{"import", "qrels", "x.qrels"},
		{"import", "docs", "a", "--no-such-flag"},
		{"export"},
		{"export", "qrels"},
		{"export", "widgets"},
		{"export", "qrels", "--labeler", "nobody"},
		{"stats", "--bogus"},
	}
	for _, args := range cases {
		if _, _, err := coreCLI(t, db, args...); err == nil {
			t.Errorf("qrelbench %s: no error", strings.Join(args, " "))
		}
	}
	if _, _, err := coreCLI(t, db, "import", "-h"); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("import -h: %v", err)
	}
	out, _, err := coreCLI(t, db, "help")
	if err != nil || !strings.Contains(out, "import") || !strings.Contains(out, "stats") {
		t.Fatalf("help: %v %q", err, out)
	}
}
