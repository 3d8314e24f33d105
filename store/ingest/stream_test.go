package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestRepeatsOfStoredRecordsAreCaughtWithUpdate: with --update, a record
// already stored that appears twice in one file with different content is
// an error naming its first line, not an update by the second line (the
// load notes stored records it meets, as a map of the file would).
func TestRepeatsOfStoredRecordsAreCaughtWithUpdate(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, kind, content, want string
	}{
		{"query", "queries", "sq0\tquery number 0\nnew\tx\nsq0\tanother text\n", `query "sq0" appears again with a different text (first at line 1)`},
		{"query changed then repeated", "queries", "sq0\tchanged once\nsq0\tchanged twice\n", `query "sq0" appears again with a different text (first at line 1)`},
		{"document", "docs", jsonLine(map[string]any{"id": "sd0", "text": "passage 0 about zebra stripes and other things"}) + jsonLine(map[string]any{"id": "sd0", "text": "new"}), `document "sd0" appears again with a different text (first at line 1)`},
		{"pair grade", "pairs", pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", 0) + pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", 1), `pair ("sq0", "sd0") appears again with a different grade (first at line 1)`},
		{"pair grade, then none", "pairs", pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", 3) + pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", nil), `(first at line 1)`},
		{"qrels", "qrels", "sq0 0 sd0 3\nsq1 0 sd1 1\nsq0 0 sd0 0\n", `pair ("sq0", "sd0") appears again with a different grade (first at line 1)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t, "0-3")
			seed(t, st)
			before := counts(t, st)
			path := writeFile(t, dir, c.name+map[string]string{"queries": ".tsv", "docs": ".jsonl", "pairs": ".jsonl", "qrels": ".qrels"}[c.kind], c.content)
			var err error
			switch c.kind {
			case "queries":
				_, err = ImportQueries(ctx, st, path, true)
			case "docs":
				_, err = ImportDocs(ctx, st, path, true)
			case "pairs":
				_, err = ImportPairs(ctx, st, path, "human:imported", true)
			case "qrels":
				_, err = ImportQrels(ctx, st, path, QrelsOptions{Labeler: "gpt", Update: true})
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if after := counts(t, st); after != before {
				t.Fatalf("a failed import changed the workspace:\n%s\n%s", before, after)
			}
		})
	}
}

// TestRepeatFarApartIsFoundByRereading: a record inserted by this import and
// repeated thousands of lines later is told with its first line, found by
// reading the file again, not by remembering every id.
func TestRepeatFarApartIsFoundByRereading(t *testing.T) {
	st := newStore(t, "0-3")
	p := writeFile(t, t.TempDir(), "p.jsonl", goodPairs("f", 5000, 100)+pairLine("fq7", "query number 7", "fd1234", "a different text", 1))
	_, err := ImportPairs(ctx, st, p, "human:imported", false)
	if err == nil || !strings.Contains(err.Error(), p+`:5001: document "fd1234" appears again with a different text (first at line 1235)`) {
		t.Fatalf("err = %v", err)
	}
}

// cancelAfter is a reader that cancels a context once it has served n
// lines, as Ctrl-C would in the middle of an import.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if len(p) > 4096 {
		p = p[:4096]
	}
	k, err := c.r.Read(p)
	c.n -= bytes.Count(p[:k], []byte("\n"))
	if c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestImportStopsOnCancel: a cancelled import stops within a few records
// and keeps nothing, although its statements run with a context that cannot
// be cancelled.
func TestImportStopsOnCancel(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	before := counts(t, st)
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		b.WriteString(jsonLine(map[string]any{"id": fmt.Sprintf("c%d", i), "text": "zebra text"}))
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &cancelAfter{r: strings.NewReader(b.String()), n: 2000, cancel: cancel}
	_, err := ImportDocsJSONL(cctx, st, "stream.jsonl", r, false)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if after := counts(t, st); after != before {
		t.Fatalf("a cancelled import kept something:\n%s\n%s", before, after)
	}
	if r.n < -4000 {
		t.Fatalf("the import read %d lines past the cancel", -r.n)
	}
}

// TestFailureAfterIndexedChunksKeepsNothing: a bad last line of a file big
// enough that the load has already indexed chunks of its documents (over
// 8 MiB of text) still leaves the workspace as it was, index and FTS5
// settings included, and names the file and line; the same file without
// its bad line then imports whole, every document searchable.
func TestFailureAfterIndexedChunksKeepsNothing(t *testing.T) {
	const n = 12000
	filler := strings.Repeat("stripes ", 100) // 800 bytes: 9.6 MB of text in all
	var good strings.Builder
	for i := 0; i < n; i++ {
		good.WriteString(pairLine(fmt.Sprintf("cq%d", i/50), fmt.Sprintf("query %d", i/50), fmt.Sprintf("cd%d", i), fmt.Sprintf("zebra %d %s", i, filler), i%4))
	}
	dir := t.TempDir()
	hashSize := func(st *store.Store) string {
		var v string
		st.DB().QueryRow(`SELECT group_concat(k || '=' || v) FROM documents_fts_config`).Scan(&v)
		return v
	}
	for _, c := range []struct{ name, last, want string }{
		{"bad JSON", `{"query_id":"cq0",` + "\n", fmt.Sprintf(":%d: bad JSON", n+1)},
		{"document repeated", pairLine("cq0", "query 0", "cd17", "another text", 1), fmt.Sprintf(`:%d: document "cd17" appears again with a different text (first at line 18)`, n+1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t, "0-3")
			seed(t, st)
			before, config := counts(t, st), hashSize(st)
			path := writeFile(t, dir, c.name+".jsonl", good.String()+c.last)
			_, err := ImportPairs(ctx, st, path, "human:imported", false)
			if err == nil || !strings.Contains(err.Error(), path+c.want) {
				t.Fatalf("err = %v, want %q", err, path+c.want)
			}
			if after := counts(t, st); after != before {
				t.Fatalf("a failed import changed the workspace:\n%s\n%s", before, after)
			}
			if got := hashSize(st); got != config {
				t.Fatalf("FTS5 config %q after the failed import, was %q", got, config)
			}
		})
	}
	st := newStore(t, "0-3")
	path := writeFile(t, dir, "good.jsonl", good.String())
	sum, err := ImportPairs(ctx, st, path, "human:imported", false)
	if err != nil || sum.Inserted["documents"] != n || sum.Inserted["judgments"] != n {
		t.Fatalf("import: %v %v", sum, err)
	}
	var found int
	if err := st.DB().QueryRow(`SELECT count(*) FROM documents_fts WHERE documents_fts MATCH 'zebra AND stripes'`).Scan(&found); err != nil || found != n {
		t.Fatalf("%d documents found by the index, want %d (%v)", found, n, err)
	}
	if _, err := st.DB().Exec(`INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("index integrity: %v", err)
	}
	if got := hashSize(st); !strings.Contains(got, "hashsize=1048576") {
		t.Fatalf("FTS5 config after the import: %q, want FTS5's default hashsize", got)
	}
}
