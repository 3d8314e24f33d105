package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/storetest"
)

var ctx = context.Background()

func newStore(t testing.TB, scale string) *store.Store {
	t.Helper()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "ws.db"), store.Scales[scale])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// writeFile writes content under dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// counts is a snapshot of every table an import can touch.
func counts(t testing.TB, st *store.Store) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"documents", "queries", "pairs", "judgments", "judgment_history", "labelers", "runs", "systems", "system_results", "pool_lists"} {
		var n int
		if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", table, n))
	}
	var fts int
	st.DB().QueryRow(`SELECT count(*) FROM documents_fts WHERE documents_fts MATCH '"zebra"'`).Scan(&fts)
	return strings.Join(parts, " ") + fmt.Sprintf(" fts(zebra)=%d", fts)
}

func pairLine(q, qtext, d, dtext string, grade any) string {
	m := map[string]any{"query_id": q, "query_text": qtext, "doc_id": d, "doc_text": dtext}
	if grade != nil {
		m["human_grade"] = grade
	}
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

// goodPairs is n valid pair lines over nq queries, each document unique,
// graded i%4.
func goodPairs(prefix string, n, nq int) string { return gradedPairs(prefix, n, nq, 4) }

func gradedPairs(prefix string, n, nq, levels int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		q := i % nq
		b.WriteString(pairLine(fmt.Sprintf("%sq%d", prefix, q), fmt.Sprintf("query number %d", q),
			fmt.Sprintf("%sd%d", prefix, i), fmt.Sprintf("passage %d about zebra stripes and other things", i), i%levels))
	}
	return b.String()
}

// seed puts some records in the workspace so failing imports have something
// to leave alone.
func seed(t testing.TB, st *store.Store) {
	t.Helper()
	dir := t.TempDir()
	p := writeFile(t, dir, "seed.jsonl", gradedPairs("s", 20, 4, 2)+pairLine("sq0", "query number 0", "shared", "the stored text of shared", 1))
	if _, err := ImportPairs(ctx, st, p, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	qr := writeFile(t, dir, "seed.qrels", "sq0 0 sd0 2\nsq1 0 sd1 1\n")
	if _, err := ImportQrels(ctx, st, qr, QrelsOptions{Labeler: "gpt"}); err != nil {
		t.Fatal(err)
	}
	run := writeFile(t, dir, "seed.run", "sq0 Q0 sd0 1 2 seeded\nsq0 Q0 sd4 2 1 seeded\nsq1 Q0 sd1 1 5 seeded\n")
	if _, err := ImportRun(ctx, st, run, RunOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestFailingImportsKeepNothing(t *testing.T) {
	many := goodPairs("m", 3000, 60)
	manyQrels := func() string {
		var b strings.Builder
		for i := 2; i < 20; i++ {
			fmt.Fprintf(&b, "sq%d 0 sd%d %d\n", i%4, i, i%2)
		}
		return b.String()
	}()
	cases := []struct {
		name, kind, file, content string
		scale                     string
		line                      int    // the line the error must name; 0: no line
		want                      string // in the error
		is                        error
		runOpt                    RunOptions
	}{
		// documents
		{name: "docs bad JSON", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n" + `{"id":"b","text":"y"}` + "\n" + `{"id":"c","text":` + "\n", line: 3, want: "bad JSON"},
		{name: "docs not an object", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n[1,2]\n", line: 2, want: "bad JSON"},
		{name: "docs two values", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"} {"id":"b","text":"y"}` + "\n", line: 1, want: "more than one value"},
		{name: "docs missing text", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n" + `{"id":"b","title":"t"}` + "\n", line: 2, want: `missing field "text"`},
		{name: "docs missing id", kind: "docs", file: "d.jsonl", content: `{"text":"x"}` + "\n", line: 1, want: `missing field "id"`},
		{name: "docs empty text", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n\n" + `{"id":"b","text":"  \t "}` + "\n", line: 3, want: "empty text"},
		{name: "docs id with space", kind: "docs", file: "d.jsonl", content: `{"id":"a b","text":"x"}` + "\n", line: 1, want: "whitespace"},
		{name: "docs text not a string", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":42}` + "\n", line: 1, want: "must be a string"},
		{name: "docs bad date", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x","modified":"last tuesday"}` + "\n", line: 1, want: "unrecognised date"},
		{name: "docs meta not object", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x","meta":"m"}` + "\n", line: 1, want: `"meta" must be an object`},
		{name: "docs invalid UTF-8", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n" + "{\"id\":\"b\",\"text\":\"caf\xff\"}\n", line: 2, want: "invalid UTF-8"},
		{name: "docs duplicate id", kind: "docs", file: "d.jsonl", content: `{"id":"a","text":"x"}` + "\n" + `{"id":"b","text":"y"}` + "\n" + `{"id":"a","text":"zebra"}` + "\n", line: 3, want: "first at line 1"},
		{name: "docs conflict with stored", kind: "docs", file: "d.jsonl", content: `{"id":"new1","text":"zebra one"}` + "\n" + `{"id":"shared","text":"another zebra text"}` + "\n", line: 2, want: "different text", is: store.ErrConflict},
		{name: "docs unknown format", kind: "docs", file: "d.pdf", content: "%PDF", want: "unknown document format"},
		{name: "docs CSV no text column", kind: "docs", file: "d.csv", content: "id,body\na,zebra\n", line: 1, want: `no "text" column`},
		{name: "docs CSV empty", kind: "docs", file: "d.csv", content: "", line: 1, want: "header"},
		{name: "docs CSV bad quote", kind: "docs", file: "d.csv", content: "id,text\na,zebra\nb,\"unterminated\nc,z\n", line: 3, want: "bad CSV"},
		{name: "docs CSV bare quote in id", kind: "docs", file: "d.csv", content: "id,text\na,zebra\nb\"x,zebra\n", line: 3, want: "bad CSV"},
		{name: "docs CSV bare quote first record", kind: "docs", file: "d.csv", content: "id,text\nb\"x,zebra\n", line: 2, want: "bad CSV"},
		{name: "docs CSV wrong field count", kind: "docs", file: "d.csv", content: "id,text\na,zebra\nb,zebra,extra\n", line: 3, want: "bad CSV"},
		{name: "docs CSV invalid UTF-8", kind: "docs", file: "d.csv", content: "id,text\na,zebra\nb,caf\xff\n", line: 3, want: "invalid UTF-8"},
		{name: "docs CSV empty text", kind: "docs", file: "d.csv", content: "id,text\na,zebra\nb,\n", line: 3, want: "empty text"},
		// queries
		{name: "queries JSONL missing text", kind: "queries", file: "q.jsonl", content: `{"id":"n1","text":"zebra"}` + "\n" + `{"id":"n2"}` + "\n", line: 2, want: `missing field "text"`},
		{name: "queries TSV no tab", kind: "queries", file: "q.tsv", content: "n1\tzebra\nn2 no tab here\n", line: 2, want: "id<TAB>text"},
		{name: "queries TSV empty text", kind: "queries", file: "q.tsv", content: "n1\tzebra\nn2\t  \n", line: 2, want: "empty text"},
		{name: "queries invalid UTF-8", kind: "queries", file: "q.tsv", content: "n1\tzebra\nn2\t\xff\xfe\n", line: 2, want: "invalid UTF-8"},
		{name: "queries duplicate id", kind: "queries", file: "q.tsv", content: "n1\tzebra\nn2\tb\nn1\tsomething else\n", line: 3, want: "first at line 1"},
		{name: "queries conflict with stored", kind: "queries", file: "q.tsv", content: "n1\tzebra\nsq0\ta new text\n", line: 2, want: "different text", is: store.ErrConflict},
		// pairs
		{name: "pairs bad JSON", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "nd", "zebra", 1) + "{oops}\n", line: 2, want: "bad JSON"},
		{name: "pairs missing doc_id", kind: "pairs", file: "p.jsonl", content: `{"query_id":"n","query_text":"t","doc_text":"x"}` + "\n", line: 1, want: `missing field "doc_id"`},
		{name: "pairs missing query_text", kind: "pairs", file: "p.jsonl", content: `{"query_id":"n","doc_id":"d","doc_text":"x"}` + "\n", line: 1, want: `missing field "query_text"`},
		{name: "pairs empty doc_text", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", " ", 1), line: 1, want: `empty text in "doc_text"`},
		{name: "pairs grade 5 on 0-3", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 2) + pairLine("n", "t", "d2", "x", 5), line: 2, want: "grade 5 is outside the workspace scale 0–3"},
		{name: "pairs grade -1", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", -1), line: 1, want: "outside the workspace scale"},
		{name: "pairs grade 3 on 0-2", kind: "pairs", file: "p.jsonl", scale: "0-2", content: pairLine("n", "t", "d", "zebra", 2) + pairLine("n", "t", "d2", "x", 3), line: 2, want: "grade 3 is outside the workspace scale 0–2"},
		{name: "pairs grade not integer", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1.5), line: 1, want: "must be an integer"},
		{name: "pairs grade string", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", "2"), line: 1, want: "must be an integer"},
		{name: "pairs invalid UTF-8", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1) + "{\"query_id\":\"n\",\"query_text\":\"t\",\"doc_id\":\"x\",\"doc_text\":\"\xff\"}\n", line: 2, want: "invalid UTF-8"},
		{name: "pairs query text differs", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1) + pairLine("n", "other", "d2", "x", 1), line: 2, want: "different text (first at line 1)"},
		{name: "pairs doc text differs", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1) + pairLine("n2", "t", "d", "x", 1), line: 2, want: "different text (first at line 1)"},
		{name: "pairs conflicting grade", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1) + pairLine("n", "t", "d", "zebra", 2), line: 2, want: "different grade (first at line 1)"},
		{name: "pairs conflict with stored grade", kind: "pairs", file: "p.jsonl", content: pairLine("n", "t", "d", "zebra", 1) + pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", 1), line: 2, want: "differs from the stored grade", is: store.ErrConflict},
		// failures on the LAST line after thousands of good ones: one found
		// while reading, two found inside the transaction.
		{name: "pairs last line bad JSON", kind: "pairs", file: "p.jsonl", content: many + "{\n", line: 3001, want: "bad JSON"},
		{name: "pairs last line out of scale", kind: "pairs", file: "p.jsonl", content: many + pairLine("mq0", "query number 0", "last", "x", 4), line: 3001, want: "outside the workspace scale"},
		{name: "pairs last line doc differs in file", kind: "pairs", file: "p.jsonl", content: many + pairLine("mq0", "query number 0", "md7", "a different zebra", 1), line: 3001, want: "different text (first at line 8)"},
		{name: "pairs last line conflicts with stored doc", kind: "pairs", file: "p.jsonl", content: many + pairLine("mq0", "query number 0", "shared", "not the stored text", 1), line: 3001, want: "different text", is: store.ErrConflict},
		// qrels
		{name: "qrels 3 fields", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\nsq0 sd1 1\n", line: 2, want: "expected 4 fields"},
		{name: "qrels grade not integer", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\nsq0 0 sd1 high\n", line: 2, want: "not an integer"},
		{name: "qrels grade out of scale", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\n# comment\nsq0 0 sd1 5\n", line: 3, want: "grade 5 is outside"},
		{name: "qrels grade 3 on 0-2", kind: "qrels", file: "r.qrels", scale: "0-2", content: "sq0 0 sd0 2\nsq0 0 sd1 3\n", line: 2, want: "grade 3 is outside"},
		{name: "qrels conflicting grades", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\nsq1 0 sd1 1\nsq0 0 sd0 1\n", line: 3, want: "different grade (first at line 1)"},
		{name: "qrels invalid UTF-8", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\nsq0 0 s\xff 1\n", line: 2, want: "invalid UTF-8"},
		{name: "qrels unknown ids", kind: "qrels", file: "r.qrels", content: "sq0 0 sd0 2\nnoq 0 sd0 1\nsq0 0 nod 1\nnoq2 0 x 1\n", want: `3 lines name a query or document that is not in the workspace (2 unknown queries, 2 unknown documents), first: line 2 (query "noq"), line 3 (document "nod"), line 4 (query "noq2")`},
		{name: "qrels last line conflicts with stored", kind: "qrels", file: "r.qrels", content: manyQrels + "sq0 0 sd0 1\n", line: 19, want: "differs from the stored grade 2", is: store.ErrConflict},
		{name: "qrels missing file", kind: "qrels", file: "", want: "cannot read"},
		// runs
		{name: "run 5 fields", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 2.5 a\nsq0 Q0 sd4 2 a\n", line: 2, want: `expected 6 fields "qid Q0 docid rank score tag", got 5`},
		{name: "run 7 fields", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 2.5 a extra\n", line: 1, want: "got 7"},
		{name: "run rank not integer", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 2.5 a\nsq0 Q0 sd4 first 2 a\n", line: 2, want: `rank "first" is not an integer`},
		{name: "run rank fractional", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1.5 2.5 a\n", line: 1, want: `rank "1.5" is not an integer`},
		{name: "run score not a number", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 2.5 a\n\nsq0 Q0 sd4 2 high a\n", line: 3, want: `score "high" is not a number`},
		{name: "run score NaN", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 NaN a\n", line: 1, want: `score "NaN" is not a finite number`},
		{name: "run score infinite", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 -Inf a\n", line: 1, want: "not a finite number"},
		{name: "run tag not printable", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 1 a\x01b\n", line: 1, want: `only printable characters`},
		{name: "run invalid UTF-8", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 1 a\nsq0 Q0 s\xff 2 1 a\n", line: 2, want: "invalid UTF-8"},
		{name: "run duplicate document", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 3 a\nsq0 Q0 sd4 2 2 a\nsq1 Q0 sd0 1 1 b\nsq0 Q0 sd0 3 1 a\n", line: 4,
			want: `document "sd0" appears twice for query "sq0" in system "a" (first at line 1)`},
		{name: "run duplicate across tags under --system", kind: "run", file: "a.run", runOpt: RunOptions{System: "merged"}, content: "sq0 Q0 sd0 1 3 a\nsq0 Q0 sd0 1 3 b\n", line: 2,
			want: `in system "merged" (first at line 1)`},
		{name: "run unknown ids", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 3 a\nnoq Q0 sd0 1 1 a\nsq0 Q0 nod 2 1 a\nnoq2 Q0 x 1 1 a\nnoq Q0 sd1 2 0 a\n",
			want: `4 lines name a query or document that is not in the workspace (2 unknown queries, 2 unknown documents), first: line 2 (query "noq"), line 3 (document "nod"), line 4 (query "noq2"), line 5 (query "noq") (import them first, or pass --skip-unknown)`},
		{name: "run unknown id escaped and shortened", kind: "run", file: "a.run", content: "sq0 Q0 d\x1b[31m" + strings.Repeat("x", 60) + " 1 3 a\n",
			line: 1, want: `id "d\x1b[31mxxxx`},
		{name: "run conflicts with stored system", kind: "run", file: "a.run", content: "sq0 Q0 sd0 1 3 fresh\nsq1 Q0 sd1 1 3 fresh\nsq0 Q0 sd0 1 3 seeded\nsq0 Q0 sd4 2 1 seeded\n", line: 3,
			want: `system "seeded" is stored with different results (use --replace to replace them)`, is: store.ErrConflict},
		{name: "run missing file", kind: "run", file: "", want: "cannot read"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			scale := c.scale
			if scale == "" {
				scale = "0-3"
			}
			st := newStore(t, scale)
			seed(t, st)
			before := counts(t, st)
			dir := t.TempDir()
			path := filepath.Join(dir, "missing.qrels")
			if c.file != "" {
				path = writeFile(t, dir, c.file, c.content)
			}
			var err error
			switch c.kind {
			case "docs":
				_, err = ImportDocs(ctx, st, path, false)
			case "queries":
				_, err = ImportQueries(ctx, st, path, false)
			case "pairs":
				_, err = ImportPairs(ctx, st, path, "human:imported", false)
			case "qrels":
				_, err = ImportQrels(ctx, st, path, QrelsOptions{Labeler: "gpt"})
			case "run":
				_, err = ImportRun(ctx, st, path, c.runOpt)
			}
			if err == nil {
				t.Fatal("import succeeded")
			}
			msg := err.Error()
			loc := path + ":"
			if c.line > 0 {
				loc = fmt.Sprintf("%s:%d:", path, c.line)
			}
			if !strings.Contains(msg, loc) || !strings.Contains(msg, c.want) {
				t.Fatalf("error %q\nwant it to contain %q and %q", msg, loc, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("error %q is not %v", msg, c.is)
			}
			if after := counts(t, st); after != before {
				t.Fatalf("a failed import changed the workspace:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestDocsDirEmptyFileFails(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", "zebra")
	empty := writeFile(t, dir, "b.txt", "  \n")
	before := counts(t, st)
	_, err := ImportDocs(ctx, st, dir, false)
	if err == nil || !strings.Contains(err.Error(), empty) || !strings.Contains(err.Error(), "empty text") {
		t.Fatalf("err = %v", err)
	}
	bad := writeFile(t, dir, "b.txt", "caf\xff")
	if _, err = ImportDocs(ctx, st, dir, false); err == nil || !strings.Contains(err.Error(), bad+": invalid UTF-8") {
		t.Fatalf("err = %v", err)
	}
	if counts(t, st) != before {
		t.Fatal("failed directory import kept something")
	}
	if _, err := ImportDocs(ctx, st, t.TempDir(), false); err == nil || !strings.Contains(err.Error(), "no .txt") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestReimportChangesNothing(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "site"), 0o755)
	writeFile(t, dir, "site/a.txt", "plain zebra text")
	writeFile(t, dir, "site/sub/b.md", "# Heading\n\nmarkdown body")
	writeFile(t, dir, "site/c.html", "<html><title>T</title><body><p>page</p></body></html>")
	files := []struct {
		kind, path string
	}{
		{"docs", writeFile(t, dir, "d.jsonl", `{"id":"a","text":"alpha","n":1,"tags":["x"],"meta":{"deep":{"k":1.5}}}`+"\n"+`{"id":"b","text":"beta","modified":"2024-01-02"}`+"\n"+`{"id":"a","text":"alpha","n":1,"tags":["x"],"meta":{"deep":{"k":1.5}}}`+"\n")},
		{"docs", writeFile(t, dir, "d.csv", "id,title,text,lang\nc1,T,\"quoted, with comma\",en\nc2,,\"multi\nline\",\n")},
		{"docs", filepath.Join(dir, "site")},
		{"queries", writeFile(t, dir, "q.jsonl", `{"id":"q1","text":"first"}`+"\n"+`{"id":2,"text":"second"}`+"\n")},
		{"queries", writeFile(t, dir, "q.tsv", "t1\ttab query\nt2\tanother one\n")},
		{"pairs", writeFile(t, dir, "p.jsonl", goodPairs("p", 50, 5)+pairLine("pq0", "query number 0", "ungraded", "no grade here", nil))},
		{"qrels", writeFile(t, dir, "r.qrels", "pq0 0 pd0 3\npq1 0 pd1 0\npq1 0 pd1 0\n")},
	}
	st := newStore(t, "0-3")
	imp := func(kind, path string) (*Summary, error) {
		switch kind {
		case "docs":
			return ImportDocs(ctx, st, path, false)
		case "queries":
			return ImportQueries(ctx, st, path, false)
		case "pairs":
			return ImportPairs(ctx, st, path, "human:imported", false)
		}
		return ImportQrels(ctx, st, path, QrelsOptions{Labeler: "judge"})
	}
	for _, f := range files {
		sum, err := imp(f.kind, f.path)
		if err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		if !sum.Changed() || !strings.HasPrefix(sum.String(), "imported "+f.path) {
			t.Fatalf("first import: %s", sum)
		}
	}
	before := counts(t, st)
	for _, f := range files {
		sum, err := imp(f.kind, f.path)
		if err != nil {
			t.Fatalf("re-import %s: %v", f.path, err)
		}
		if sum.Changed() || !strings.HasPrefix(sum.String(), "nothing changed") || !strings.Contains(sum.String(), f.path) {
			t.Fatalf("re-import %s: %s", f.path, sum)
		}
		for k, n := range sum.Inserted {
			if n != 0 {
				t.Fatalf("re-import %s inserted %d %s", f.path, n, k)
			}
		}
	}
	if after := counts(t, st); after != before {
		t.Fatalf("re-import changed the workspace:\nbefore %s\nafter  %s", before, after)
	}
	// With update set, identical records are still unchanged.
	sum, err := ImportDocs(ctx, st, files[0].path, true)
	if err != nil || sum.Changed() {
		t.Fatalf("re-import with update: %v %v", sum, err)
	}
	sum, err = ImportPairs(ctx, st, files[5].path, "human:imported", false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Unchanged["pairs"] != 51 || sum.Unchanged["judgments"] != 50 || sum.Unchanged["queries"] != 5 || sum.Unchanged["documents"] != 51 {
		t.Fatalf("unchanged counts: %+v", sum.Unchanged)
	}
	if !strings.Contains(sum.String(), "pairs: 0 new, 51 unchanged") {
		t.Fatalf("summary %q", sum)
	}
}

func TestUpdateReplacesTextAndIndex(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	v1 := writeFile(t, dir, "v1.jsonl", `{"id":"a","text":"the aardvark sleeps"}`+"\n"+`{"id":"b","text":"bees buzz"}`+"\n")
	v2 := writeFile(t, dir, "v2.jsonl", `{"id":"a","text":"the zebra runs"}`+"\n"+`{"id":"b","text":"bees buzz"}`+"\n"+`{"id":"c","text":"new one"}`+"\n")
	if _, err := ImportDocs(ctx, st, v1, false); err != nil {
		t.Fatal(err)
	}
	before := counts(t, st)
	_, err := ImportDocs(ctx, st, v2, false)
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), v2+":1:") || !strings.Contains(err.Error(), "--update") {
		t.Fatalf("conflict without update: %v", err)
	}
	if counts(t, st) != before {
		t.Fatal("conflicting import kept document c")
	}
	sum, err := ImportDocs(ctx, st, v2, true)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Updated["documents"] != 1 || sum.Inserted["documents"] != 1 || sum.Unchanged["documents"] != 1 || !strings.Contains(sum.String(), "1 updated") {
		t.Fatalf("summary %s %+v", sum, sum)
	}
	d, _ := st.DocumentByExtID(ctx, "a")
	if d.Body != "the zebra runs" {
		t.Fatalf("body %q", d.Body)
	}
	if h, _ := st.Search(ctx, "zebra", 10); len(h) != 1 || h[0].ExtID != "a" {
		t.Fatalf("new word: %v", h)
	}
	if h, _ := st.Search(ctx, "aardvark", 10); len(h) != 0 {
		t.Fatalf("old word still indexed: %v", h)
	}

	// Queries and pairs follow the same rule.
	q1 := writeFile(t, dir, "q1.tsv", "q1\thow fast do zebras run\n")
	q2 := writeFile(t, dir, "q2.tsv", "q1\twhere do aardvarks sleep\n")
	ImportQueries(ctx, st, q1, false)
	if _, err := ImportQueries(ctx, st, q2, false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("query conflict: %v", err)
	}
	if sum, err := ImportQueries(ctx, st, q2, true); err != nil || sum.Updated["queries"] != 1 {
		t.Fatalf("query update: %v %v", sum, err)
	}
	p1 := writeFile(t, dir, "p1.jsonl", pairLine("q1", "where do aardvarks sleep", "a", "the zebra runs", 1))
	p2 := writeFile(t, dir, "p2.jsonl", pairLine("q1", "where do aardvarks sleep", "a", "the zebra runs", 3))
	if _, err := ImportPairs(ctx, st, p1, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportPairs(ctx, st, p2, "human:imported", false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("grade conflict: %v", err)
	}
	sum, err = ImportPairs(ctx, st, p2, "human:imported", true)
	if err != nil || sum.Updated["judgments"] != 1 {
		t.Fatalf("grade update: %v %v", sum, err)
	}
}

func TestDocsJSONLMetadata(t *testing.T) {
	st := newStore(t, "0-3")
	p := writeFile(t, t.TempDir(), "docs.ndjson", "\ufeff"+`{"id":7,"text":"body","title":"T","url":"http://u","author":"A","modified":"2024-03-04 05:06:07","type":"wiki","lang":"en","score":0.5,"count":3,"tags":["a","b"],"nested":{"x":true},"meta":{"source":"crawl","lang":"de"}}`+"\r\n"+
		`{"id":"u","text":"unix time","modified":"1700000000"}`+"\n")
	if _, err := ImportDocs(ctx, st, p, false); err != nil {
		t.Fatal(err)
	}
	d, err := st.DocumentByExtID(ctx, "7")
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "T" || d.URL != "http://u" || d.Author != "A" || d.Type != "wiki" || !d.Modified.Equal(time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)) {
		t.Fatalf("fields: %+v", d)
	}
	want := `{"count":3,"lang":"de","nested":{"x":true},"score":0.5,"source":"crawl","tags":["a","b"]}`
	if b, _ := json.Marshal(d.Meta); string(b) != want {
		t.Fatalf("meta = %s, want %s", b, want)
	}
	u, _ := st.DocumentByExtID(ctx, "u")
	if u.Modified.Unix() != 1700000000 {
		t.Fatalf("unix modified = %v", u.Modified)
	}
}

func TestDocsCSV(t *testing.T) {
	st := newStore(t, "0-3")
	p := writeFile(t, t.TempDir(), "docs.CSV", "\ufeffID, Title ,Text,URL,lang\n1,First,\"text with, comma and \"\"quotes\"\"\",http://a,en\n2,,\"two\nlines\",,\n")
	sum, err := ImportDocs(ctx, st, p, false)
	if err != nil || sum.Inserted["documents"] != 2 {
		t.Fatalf("%v %v", sum, err)
	}
	d1, _ := st.DocumentByExtID(ctx, "1")
	if d1.Title != "First" || d1.Body != `text with, comma and "quotes"` || d1.URL != "http://a" || d1.Meta["lang"] != "en" {
		t.Fatalf("d1 = %+v", d1)
	}
	d2, _ := st.DocumentByExtID(ctx, "2")
	if d2.Body != "two\nlines" || d2.Meta != nil {
		t.Fatalf("d2 = %+v", d2)
	}
	// Line numbers count physical lines: the record after a two-line field
	// starts on line 5.
	bad := writeFile(t, t.TempDir(), "bad.csv", "id,text\n7,\"a\nb\"\n8,\"c\nd\"\n9,\n")
	if _, err := ImportDocs(ctx, st, bad, false); err == nil || !strings.Contains(err.Error(), bad+":6:") {
		t.Fatalf("line after multi-line records: %v", err)
	}
}

func TestDocsDirectory(t *testing.T) {
	st := newStore(t, "0-3")
	root := t.TempDir()
	writeFile(t, root, "notes.txt", "plain text note")
	writeFile(t, root, "guides/setup.md", "intro\n# Setup Guide\n\nrun the thing")
	writeFile(t, root, "guides/untitled.md", "no heading here")
	writeFile(t, root, "web/page.HTML", `<!DOCTYPE html><html><head><title>Tom &amp; Jerry &#8211; Home</title>
<style>body { color: red }</style><script type="text/javascript">var secret = "hidden";</script></head>
<body><!-- a comment --><h1>Welcome</h1><p>Cats &lt;and&gt; mice&nbsp;play.</p><noscript>enable js</noscript><ul><li>one</li><li>two</li></ul></body></html>`)
	writeFile(t, root, ".git/config.txt", "hidden dir")
	writeFile(t, root, "image.png", "\x89PNG")
	mtime := time.Date(2023, 7, 8, 9, 10, 11, 0, time.UTC)
	for _, f := range []string{"notes.txt", "guides/setup.md", "guides/untitled.md", "web/page.HTML"} {
		if err := os.Chtimes(filepath.Join(root, f), mtime, mtime.Add(500*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := ImportDocs(ctx, st, root, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted["documents"] != 4 {
		t.Fatalf("summary %s", sum)
	}
	check := func(id, title, typ, body string) store.Document {
		t.Helper()
		d, err := st.DocumentByExtID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Title != title || d.Type != typ || d.URL != id || !d.Modified.Equal(mtime) {
			t.Fatalf("%s: title %q type %q url %q modified %v", id, d.Title, d.Type, d.URL, d.Modified)
		}
		if d.Meta["path"] != id || d.Meta["name"] != filepath.Base(id) {
			t.Fatalf("%s meta %v", id, d.Meta)
		}
		if body != "" && d.Body != body {
			t.Fatalf("%s body %q, want %q", id, d.Body, body)
		}
		return d
	}
	check("notes.txt", "notes", "file", "plain text note")
	check("guides/setup.md", "Setup Guide", "file", "intro\n# Setup Guide\n\nrun the thing")
	check("guides/untitled.md", "untitled", "file", "no heading here")
	page := check("web/page.HTML", "Tom & Jerry – Home", "page", "")
	for _, gone := range []string{"secret", "hidden", "color", "comment", "enable js", "&lt;", "&amp;", "&nbsp;"} {
		if strings.Contains(page.Body, gone) {
			t.Errorf("HTML text still has %q: %q", gone, page.Body)
		}
	}
	for _, kept := range []string{"Welcome", "Cats <and> mice\u00a0play.", "one\n\ntwo"} {
		if !strings.Contains(page.Body, kept) {
			t.Errorf("HTML text lacks %q: %q", kept, page.Body)
		}
	}
	if h, _ := st.Search(ctx, "secret", 5); len(h) != 0 {
		t.Errorf("script text indexed")
	}
	// Touching a file changes its mtime metadata: a conflict unless update.
	later := mtime.Add(time.Hour)
	os.Chtimes(filepath.Join(root, "notes.txt"), later, later)
	if _, err := ImportDocs(ctx, st, root, false); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("touched file: %v", err)
	}
}

func TestHTMLToText(t *testing.T) {
	title, text := HTMLToText(`<TITLE> A <b>bold</b> &quot;title&quot; </TITLE><SCRIPT>x()</SCRIPT><Style>.a{}</Style><div>one</div><div>two &amp; three</div><p>four<br>five</p>`)
	if title != `A bold "title"` {
		t.Fatalf("title %q", title)
	}
	if text != "one\n\ntwo & three\n\nfour\nfive" {
		t.Fatalf("text %q", text)
	}
}

func TestQueriesFormats(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	j := writeFile(t, dir, "q.jsonl", `{"id":"q1","text":"how do bees fly"}`+"\n"+`{"id":2,"text":"numeric id"}`+"\n\n")
	tsv := writeFile(t, dir, "q.tsv", "\ufeffq3\t  spaced text  \r\nq4\ttext\twith tab\n"+`{"id":"q5","text":"json line in a tsv"}`+"\n")
	if sum, err := ImportQueries(ctx, st, j, false); err != nil || sum.Inserted["queries"] != 2 {
		t.Fatalf("%v %v", sum, err)
	}
	if sum, err := ImportQueries(ctx, st, tsv, false); err != nil || sum.Inserted["queries"] != 3 {
		t.Fatalf("%v %v", sum, err)
	}
	qs, _ := st.Queries(ctx)
	var got []string
	for _, q := range qs {
		if q.Origin != store.OriginImported {
			t.Fatalf("origin %q", q.Origin)
		}
		got = append(got, q.ExtID+"="+q.Text)
	}
	want := "q1=how do bees fly|2=numeric id|q3=spaced text|q4=text\twith tab|q5=json line in a tsv"
	if strings.Join(got, "|") != want {
		t.Fatalf("queries %q", strings.Join(got, "|"))
	}
}

func TestPairsGradesAs(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	p := writeFile(t, dir, "p.jsonl", goodPairs("a", 8, 2)+pairLine("aq0", "query number 0", "extra", "ungraded doc", nil)+
		pairLine("aq0", "query number 0", "ad0", "passage 0 about zebra stripes and other things", 0))
	sum, err := ImportPairs(ctx, st, p, "human:imported", false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted["pairs"] != 9 || sum.Inserted["judgments"] != 8 || sum.Inserted["queries"] != 2 || sum.Inserted["documents"] != 9 {
		t.Fatalf("summary %s", sum)
	}
	lab, err := st.Labeler(ctx, "human:imported")
	if err != nil || lab.Kind != store.KindHuman {
		t.Fatalf("labeler %+v %v", lab, err)
	}
	var b bytes.Buffer
	if n, err := ExportQrels(ctx, st, "human:imported", &b); err != nil || n != 8 {
		t.Fatal(n, err)
	}
	want := "aq0 0 ad0 0\naq0 0 ad2 2\naq0 0 ad4 0\naq0 0 ad6 2\naq1 0 ad1 1\naq1 0 ad3 3\naq1 0 ad5 1\naq1 0 ad7 3\n"
	if b.String() != want {
		t.Fatalf("qrels:\n%s\nwant:\n%s", b.String(), want)
	}
	// Another name records the same grades as another labeler, kind imported.
	if _, err := ImportPairs(ctx, st, p, "vendor-x", false); err != nil {
		t.Fatal(err)
	}
	v, err := st.Labeler(ctx, "vendor-x")
	if err != nil || v.Kind != store.KindImported {
		t.Fatalf("vendor labeler %+v %v", v, err)
	}
	// A file without grades creates no labeler.
	ng := writeFile(t, dir, "nograde.jsonl", pairLine("bq", "t", "bd", "x", nil))
	if _, err := ImportPairs(ctx, st, ng, "human:nobody", false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Labeler(ctx, "human:nobody"); !errors.Is(err, store.ErrNoLabeler) {
		t.Fatalf("labeler created without grades: %v", err)
	}
	// Extra keys of a pair line are document metadata.
	mp := writeFile(t, dir, "meta.jsonl", `{"query_id":"mq","query_text":"t","doc_id":"md","doc_text":"x","title":"Doc","url":"http://m","lang":"fr","human_grade":2}`+"\n")
	if _, err := ImportPairs(ctx, st, mp, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	d, _ := st.DocumentByExtID(ctx, "md")
	if d.Title != "Doc" || d.URL != "http://m" || d.Meta["lang"] != "fr" || len(d.Meta) != 1 {
		t.Fatalf("pair document %+v", d)
	}
}

func TestQrelsImport(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	p := writeFile(t, dir, "p.jsonl", goodPairs("", 12, 3))
	if _, err := ImportPairs(ctx, st, p, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	pairsBefore := counts(t, st)
	// Unknown ids: many lines, only the first few named.
	var b strings.Builder
	b.WriteString("q0 0 d0 1\n")
	for i := 0; i < 9; i++ {
		fmt.Fprintf(&b, "zz%d 0 d0 1\n", i)
	}
	unk := writeFile(t, dir, "unknown.qrels", b.String())
	_, err := ImportQrels(ctx, st, unk, QrelsOptions{Labeler: "judge"})
	if err == nil || !strings.Contains(err.Error(), "9 lines") || !strings.Contains(err.Error(), `line 2 (query "zz0")`) ||
		!strings.Contains(err.Error(), `line 6 (query "zz4")`) || strings.Contains(err.Error(), "zz5") || !strings.Contains(err.Error(), "--skip-unknown") {
		t.Fatalf("unknown ids: %v", err)
	}
	if counts(t, st) != pairsBefore {
		t.Fatal("failed qrels import kept something")
	}
	sum, err := ImportQrels(ctx, st, unk, QrelsOptions{Labeler: "judge", SkipUnknown: true})
	if err != nil || sum.Inserted["judgments"] != 1 || sum.Skipped != 9 {
		t.Fatalf("skip unknown: %v %v", sum, err)
	}
	if l, _ := st.Labeler(ctx, "judge"); l.Kind != store.KindImported {
		t.Fatalf("kind %q", l.Kind)
	}
	// A qrels line for a pair not yet in the workspace creates the pair.
	np := writeFile(t, dir, "newpair.qrels", "q0 0 d1 2\n")
	sum, err = ImportQrels(ctx, st, np, QrelsOptions{Labeler: "human:bob"})
	if err != nil || sum.Inserted["pairs"] != 1 {
		t.Fatalf("new pair: %v %v", sum, err)
	}
	if l, _ := st.Labeler(ctx, "human:bob"); l.Kind != store.KindHuman {
		t.Fatalf("kind %q", l.Kind)
	}
	if _, err := ImportQrels(ctx, st, np, QrelsOptions{Labeler: "bad name"}); err == nil {
		t.Fatal("labeler name with a space accepted")
	}
	upd := writeFile(t, dir, "upd.qrels", "q0 0 d1 3\n")
	if sum, err := ImportQrels(ctx, st, upd, QrelsOptions{Labeler: "human:bob", Update: true}); err != nil || sum.Updated["judgments"] != 1 {
		t.Fatalf("update: %v %v", sum, err)
	}
	if _, err := ExportQrels(ctx, st, "nobody", &bytes.Buffer{}); !errors.Is(err, store.ErrNoLabeler) {
		t.Fatalf("export unknown labeler: %v", err)
	}
}

func TestQrelsRoundTrip(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(3))
	// Ids chosen to sort differently as strings and as numbers, with
	// punctuation and non-ASCII.
	qids := []string{"1", "10", "2", "q-1", "q_1", "Q1", "é1", "100"}
	dids := []string{"d1", "d10", "d2", "D1", "msmarco_passage_00_1", "7", "70", "ü"}
	var docs, queries strings.Builder
	for _, d := range dids {
		fmt.Fprintf(&docs, `{"id":%q,"text":"text of %s"}`+"\n", d, d)
	}
	for _, q := range qids {
		fmt.Fprintf(&queries, "%s\tquery %s\n", q, q)
	}
	if _, err := ImportDocs(ctx, st, writeFile(t, dir, "d.jsonl", docs.String()), false); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportQueries(ctx, st, writeFile(t, dir, "q.tsv", queries.String()), false); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, q := range qids {
		for _, d := range dids {
			if rng.Intn(3) > 0 {
				lines = append(lines, fmt.Sprintf("%s 0 %s %d\n", q, d, rng.Intn(4)))
			}
		}
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	in := writeFile(t, dir, "in.qrels", "# a comment\n"+strings.Join(lines, "")+"\n")
	if _, err := ImportQrels(ctx, st, in, QrelsOptions{Labeler: "judge"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := ExportQrels(ctx, st, "judge", &out)
	if err != nil || n != len(lines) {
		t.Fatal(n, err)
	}
	sort.Strings(lines)
	if want := strings.Join(lines, ""); out.String() != want {
		t.Fatalf("export:\n%s\nwant:\n%s", out.String(), want)
	}
	// The export imports back as nothing changed.
	back := writeFile(t, dir, "back.qrels", out.String())
	if sum, err := ImportQrels(ctx, st, back, QrelsOptions{Labeler: "judge"}); err != nil || sum.Changed() {
		t.Fatalf("re-import of export: %v %v", sum, err)
	}
}

func TestExportPairs(t *testing.T) {
	st := newStore(t, "0-3")
	dir := t.TempDir()
	p := writeFile(t, dir, "p.jsonl", `{"query_id":"q1","query_text":"bees","doc_id":"d1","doc_text":"bees fly","title":"Bees","modified":"2024-01-02","lang":"en","human_grade":3}`+"\n"+
		pairLine("q1", "bees", "d2", "ants walk", 0))
	if _, err := ImportPairs(ctx, st, p, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	if _, err := ImportQrels(ctx, st, writeFile(t, dir, "r.qrels", "q1 0 d1 2\n"), QrelsOptions{Labeler: "gpt"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := ExportPairs(ctx, st, &out, FormatJSONL)
	if err != nil || n != 2 {
		t.Fatal(n, err)
	}
	sc := bufio.NewScanner(&out)
	var rows []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 2 || rows[0]["doc_id"] != "d1" || rows[0]["title"] != "Bees" || rows[0]["modified"] != "2024-01-02T00:00:00Z" {
		t.Fatalf("rows %v", rows)
	}
	g := rows[0]["grades"].(map[string]any)
	if g["human:imported"] != 3.0 || g["gpt"] != 2.0 || rows[0]["meta"].(map[string]any)["lang"] != "en" {
		t.Fatalf("grades %v meta %v", g, rows[0]["meta"])
	}
}

// TestRealDevQrelsRoundTrip imports the LLMJudge dev set and checks that the
// exported human qrels are exactly the grades in the file.
func TestRealDevQrelsRoundTrip(t *testing.T) {
	data := storetest.DataDir(t)
	path := filepath.Join(data, "llmjudge", "dev.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	var want []string
	queries, docs := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct {
			Q     string `json:"query_id"`
			D     string `json:"doc_id"`
			Grade int    `json:"human_grade"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s 0 %s %d\n", r.Q, r.D, r.Grade))
		queries[r.Q], docs[r.D] = true, true
	}
	f.Close()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) != 7263 {
		t.Fatalf("dev.jsonl has %d lines, README says 7,263", len(want))
	}
	sort.Strings(want)

	st := newStore(t, "0-3")
	start := time.Now()
	sum, err := ImportPairs(ctx, st, path, "human:imported", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d pairs in %v: %s", len(want), time.Since(start).Round(time.Millisecond), sum)
	if sum.Inserted["pairs"] != 7263 || sum.Inserted["judgments"] != 7263 || sum.Inserted["queries"] != len(queries) || sum.Inserted["documents"] != len(docs) {
		t.Fatalf("summary %s", sum)
	}
	var out bytes.Buffer
	n, err := ExportQrels(ctx, st, "human:imported", &out)
	if err != nil || n != 7263 {
		t.Fatal(n, err)
	}
	if out.String() != strings.Join(want, "") {
		t.Fatal("exported qrels differ from the human grades in dev.jsonl")
	}
	s, _ := st.Stats(ctx)
	for _, l := range s.Labelers {
		if l.Labeler == "human:imported" && (l.ByGrade[0] != 4538 || l.ByGrade[1] != 1403 || l.ByGrade[2] != 625 || l.ByGrade[3] != 697) {
			t.Fatalf("grade counts %v, README says 4538/1403/625/697", l.ByGrade)
		}
	}
	sum, err = ImportPairs(ctx, st, path, "human:imported", false)
	if err != nil || sum.Changed() {
		t.Fatalf("re-import: %v %v", sum, err)
	}
}

// TestRealTestVisibleWithRun imports test-visible.jsonl and one published
// LLM judge's qrels for it.
func TestRealTestVisibleWithRun(t *testing.T) {
	data := storetest.DataDir(t)
	pairs := filepath.Join(data, "llmjudge", "test-visible.jsonl")
	run := filepath.Join(data, "llmjudge", "runs-visible", "Olz-gpt4o.qrels")
	for _, p := range []string{pairs, run} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	st := newStore(t, "0-3")
	sum, err := ImportPairs(ctx, st, pairs, "human:imported", false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted["pairs"] != 2123 || sum.Inserted["queries"] != 13 || sum.Inserted["judgments"] != 2123 {
		t.Fatalf("pairs summary %s", sum)
	}
	before := counts(t, st)
	sum, err = ImportQrels(ctx, st, run, QrelsOptions{Labeler: "Olz-gpt4o"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted["judgments"] != 2123 || sum.Unchanged["pairs"] != 2123 || sum.Inserted["pairs"] != 0 {
		t.Fatalf("run summary %s", sum)
	}
	s, err := st.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pairs != 2123 || s.Queries != 13 {
		t.Fatalf("stats %+v", s)
	}
	byName := map[string]store.LabelerStats{}
	for _, l := range s.Labelers {
		byName[l.Labeler] = l
	}
	h, g := byName["human:imported"], byName["Olz-gpt4o"]
	if h.Total != 2123 || h.ByGrade[0] != 1076 || h.ByGrade[1] != 543 || h.ByGrade[2] != 296 || h.ByGrade[3] != 208 {
		t.Fatalf("human stats %+v", h)
	}
	if g.Total != 2123 || g.Kind != store.KindImported || g.ByGrade[0]+g.ByGrade[1]+g.ByGrade[2]+g.ByGrade[3] != 2123 {
		t.Fatalf("run stats %+v", g)
	}
	// The run's export is its file, sorted.
	raw, _ := os.ReadFile(run)
	lines := strings.SplitAfter(strings.TrimRight(string(raw), "\n")+"\n", "\n")
	lines = lines[:len(lines)-1]
	sort.Strings(lines)
	var out bytes.Buffer
	if _, err := ExportQrels(ctx, st, "Olz-gpt4o", &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.Join(lines, "") {
		t.Fatal("exported run differs from the sorted run file")
	}
	_ = before
}

// TestExportPairsReimports: an `export pairs` file imports again into the
// same workspace as "nothing changed", and into a fresh one with the same
// documents and metadata (the export's grade fields are not metadata).
func TestExportPairsReimports(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(src, []byte(`{"query_id":"q1","query_text":"expense policy","doc_id":"d1","doc_text":"Expense policy 2026","title":"Policy","author":"Ana","project":"Atlas","human_grade":2}
{"query_id":"q1","query_text":"expense policy","doc_id":"d2","doc_text":"Travel booking guide","human_grade":0}
`), 0o644)
	st, err := store.Create(ctx, filepath.Join(dir, "a.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := ImportPairs(ctx, st, src, "human:imported", false); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := ExportPairs(ctx, st, &buf, FormatJSONL); err != nil {
		t.Fatal(err)
	}
	exported := filepath.Join(dir, "export.jsonl")
	os.WriteFile(exported, buf.Bytes(), 0o644)
	sum, err := ImportPairs(ctx, st, exported, "human:exported", false)
	if err != nil {
		t.Fatalf("re-importing an export: %v", err)
	}
	if sum.Inserted["documents"] != 0 || sum.Inserted["pairs"] != 0 || sum.Updated["documents"] != 0 {
		t.Fatalf("re-import changed documents or pairs: %s", sum)
	}
	d, err := st.DocumentByExtID(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Meta["grades"]; ok || d.Meta["project"] != "Atlas" {
		t.Fatalf("metadata after re-import: %v", d.Meta)
	}
}
