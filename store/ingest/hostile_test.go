package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// badIDs are ids that cannot round-trip through qrels or run files.
var badIDs = map[string]string{
	"newline":        "a\nb",
	"vertical tab":   "a\vb",
	"form feed":      "a\fb",
	"U+2028":         "a\u2028b",
	"U+2029":         "a\u2029b",
	"NEL":            "a\u0085b",
	"NUL":            "a\x00b",
	"ESC":            "a\x1b[31mb",
	"DEL":            "a\x7fb",
	"bidi override":  "a\u202eb",
	"no-break space": "a\u00a0b",
}

// rawEscapes are characters that must never appear in an error message.
const rawEscapes = "\x00\x1b\v\f\x7f\u0085\u2028\u2029\u202e"

func jsonLine(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

// TestControlCharactersInIDsRefused: every import refuses an id that a later
// export could not write readably, naming file and line, keeping nothing.
func TestControlCharactersInIDsRefused(t *testing.T) {
	for name, id := range badIDs {
		files := []struct{ kind, file, content string }{
			{"docs", "d.jsonl", jsonLine(map[string]any{"id": "ok", "text": "zebra"}) + jsonLine(map[string]any{"id": id, "text": "zebra"})},
			{"docs", "d.csv", "id,text\nok,zebra\n\"" + id + "\",zebra\n"},
			{"queries", "q.jsonl", jsonLine(map[string]any{"id": "ok", "text": "zebra"}) + jsonLine(map[string]any{"id": id, "text": "zebra"})},
			{"queries", "q.tsv", "ok\tzebra\n" + id + "\tzebra\n"},
			{"pairs", "p.jsonl", pairLine("ok", "t", "okd", "zebra", 1) + pairLine(id, "t", "d2", "zebra", 1)},
			{"pairs", "p.jsonl", pairLine("ok", "t", "okd", "zebra", 1) + pairLine("ok", "t", id, "zebra", 1)},
			{"qrels", "r.qrels", "sq0 0 sd0 2\n" + id + " 0 sd1 1\n"},
			{"qrels", "r.qrels", "sq0 0 sd0 2\nsq1 0 " + id + " 1\n"},
			{"run", "a.run", "sq0 Q0 sd0 1 2.5 sys\n" + id + " Q0 sd1 2 1.5 sys\n"},
			{"run", "a.run", "sq0 Q0 sd0 1 2.5 sys\nsq0 Q0 " + id + " 2 1.5 sys\n"},
		}
		for i, f := range files {
			if f.kind == "queries" && f.file == "q.tsv" && strings.ContainsAny(id, "\n") {
				continue // a newline ends the TSV line: it is a different (refused) file
			}
			if (f.kind == "qrels" || f.kind == "run") && strings.ContainsAny(id, "\n\v\f\u0085\u2028\u2029\u00a0") {
				continue // whitespace splits qrels fields: a 5-field line, refused as such
			}
			t.Run(fmt.Sprintf("%s/%d-%s-%s", name, i, f.kind, f.file), func(t *testing.T) {
				st := newStore(t, "0-3")
				seed(t, st)
				before := counts(t, st)
				path := writeFile(t, t.TempDir(), f.file, f.content)
				var err error
				switch f.kind {
				case "docs":
					_, err = ImportDocs(ctx, st, path, false)
				case "queries":
					_, err = ImportQueries(ctx, st, path, false)
				case "pairs":
					_, err = ImportPairs(ctx, st, path, "human:imported", false)
				case "qrels":
					_, err = ImportQrels(ctx, st, path, QrelsOptions{Labeler: "gpt"})
				case "run":
					_, err = ImportRun(ctx, st, path, RunOptions{})
				}
				if err == nil {
					t.Fatal("import accepted the id")
				}
				if !strings.Contains(err.Error(), path+":") || strings.ContainsAny(err.Error(), rawEscapes) {
					t.Fatalf("error %q: want the file:line and no raw control characters", err)
				}
				if f.file != "d.csv" && !strings.Contains(err.Error(), path+":2:") {
					t.Fatalf("error %q does not name line 2", err)
				}
				if after := counts(t, st); after != before {
					t.Fatalf("refused import changed the workspace:\n%s\n%s", before, after)
				}
			})
		}
	}
}

// TestExportRefusesUnreadableIDs: an id stored before imports checked ids
// (here written by hand) makes export fail instead of writing a file that
// import then refuses.
func TestExportRefusesUnreadableIDs(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	if _, err := st.DB().Exec(`UPDATE documents SET ext_id = 'sd1' || char(10) || 'x' WHERE ext_id = 'sd1'`); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := ExportQrels(ctx, st, "gpt", &out); err == nil || !strings.Contains(err.Error(), "cannot export") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("ExportQrels = %v", err)
	}
	if out.Len() != 0 {
		t.Fatalf("ExportQrels wrote %q before failing", out.String())
	}
	out.Reset()
	if _, err := ExportPairs(ctx, st, &out, FormatJSONL); err == nil || !strings.Contains(err.Error(), "cannot export") {
		t.Fatalf("ExportPairs = %v", err)
	}
}

// TestGradesOfModelLabelersComeOnlyFromLabel: imported grades are never
// filed under a built-in, model or student labeler.
func TestGradesOfModelLabelersComeOnlyFromLabel(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	for _, l := range []store.Labeler{{Name: "teacher", Kind: store.KindLLM, BaseURL: "http://127.0.0.1:1/v1", Model: "m"}, {Name: "student", Kind: store.KindStudent}} {
		if err := st.AddLabeler(ctx, &l); err != nil {
			t.Fatal(err)
		}
	}
	before := counts(t, st)
	dir := t.TempDir()
	qrels := writeFile(t, dir, "r.qrels", "sq0 0 sd0 3\nsq1 0 sd1 0\n")
	pairs := writeFile(t, dir, "p.jsonl", pairLine("sq0", "query number 0", "sd0", "passage 0 about zebra stripes and other things", 3))
	for _, name := range []string{"lexical", "bm25", "teacher", "student"} {
		_, err := ImportQrels(ctx, st, qrels, QrelsOptions{Labeler: name})
		if err == nil || !strings.Contains(err.Error(), "come only from `qrelbench label") {
			t.Errorf("import qrels --labeler %s: %v", name, err)
		}
		_, err = ImportPairs(ctx, st, pairs, name, false)
		if err == nil || !strings.Contains(err.Error(), "come only from `qrelbench label") {
			t.Errorf("import pairs --grades-as %s: %v", name, err)
		}
	}
	if after := counts(t, st); after != before {
		t.Fatalf("refused imports changed the workspace:\n%s\n%s", before, after)
	}
	// Imported judges and people still take grades.
	for _, name := range []string{"gpt", "new-judge", "human:alice"} {
		if _, err := ImportQrels(ctx, st, qrels, QrelsOptions{Labeler: name, Update: true}); err != nil {
			t.Errorf("import qrels --labeler %s: %v", name, err)
		}
	}
}

// TestErrorsQuoteInputShortAndEscaped: a 10 MB id or one full of escape
// sequences makes a short error with nothing raw in it.
func TestErrorsQuoteInputShortAndEscaped(t *testing.T) {
	st := newStore(t, "0-3")
	seed(t, st)
	dir := t.TempDir()
	huge := strings.Repeat("Z", 10<<20)
	evil := "q\x1b]0;owned\x07\x1b[2J"
	cases := []struct {
		name string
		run  func() error
	}{
		{"qrels unknown 10 MB id", func() error {
			_, err := ImportQrels(ctx, st, writeFile(t, dir, "a.qrels", "sq0 0 sd0 1\n"+huge+" 0 sd0 1\n"), QrelsOptions{Labeler: "gpt"})
			return err
		}},
		{"qrels unknown escape id", func() error {
			_, err := ImportQrels(ctx, st, writeFile(t, dir, "b.qrels", "sq0 0 "+strings.ReplaceAll(evil, "\x1b", "\x1b")+"x 1\n"), QrelsOptions{Labeler: "gpt"})
			return err
		}},
		{"qrels bad grade 10 MB", func() error {
			_, err := ImportQrels(ctx, st, writeFile(t, dir, "c.qrels", "sq0 0 sd0 "+huge+"\n"), QrelsOptions{Labeler: "gpt"})
			return err
		}},
		{"pairs 10 MB query id differs", func() error {
			_, err := ImportPairs(ctx, st, writeFile(t, dir, "p.jsonl", pairLine(huge, "a", "x1", "zebra", 1)+pairLine(huge, "b", "x2", "zebra", 1)), "human:imported", false)
			return err
		}},
		{"docs conflict with a 10 MB stored id", func() error {
			if _, err := ImportDocs(ctx, st, writeFile(t, dir, "d1.jsonl", jsonLine(map[string]any{"id": huge, "text": "one"})), false); err != nil {
				return nil // (not the point of this case)
			}
			_, err := ImportDocs(ctx, st, writeFile(t, dir, "d2.jsonl", jsonLine(map[string]any{"id": huge, "text": "two"})), false)
			return err
		}},
		{"queries TSV escape id", func() error {
			_, err := ImportQueries(ctx, st, writeFile(t, dir, "q.tsv", evil+"\tzebra\n"), false)
			return err
		}},
		{"labeler name with escapes", func() error {
			_, err := ImportQrels(ctx, st, writeFile(t, dir, "e.qrels", "sq0 0 sd0 1\n"), QrelsOptions{Labeler: evil})
			return err
		}},
		{"date 10 MB", func() error {
			_, err := ImportDocs(ctx, st, writeFile(t, dir, "d3.jsonl", jsonLine(map[string]any{"id": "x", "text": "t", "modified": huge + evil})), false)
			return err
		}},
	}
	for _, c := range cases {
		err := c.run()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if n := len(err.Error()); n > 1000 {
			t.Errorf("%s: error of %d bytes: %.200s…", c.name, n, err)
		}
		if strings.ContainsAny(err.Error(), "\x1b\x07") {
			t.Errorf("%s: raw escape in error %q", c.name, err)
		}
	}
}

// TestDocsDirReadsOnlyRegularFilesInside: FIFOs, devices, symlinks out of
// the folder and oversize files are passed over and reported; nothing
// blocks, nothing outside is read.
func TestDocsDirReadsOnlyRegularFilesInside(t *testing.T) {
	outside := t.TempDir()
	secret := writeFile(t, outside, "secret.txt", "the secret outside the folder")
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", "plain zebra text")
	writeFile(t, dir, "sub/b.md", "# B\n\nmarkdown zebra")
	writeFile(t, dir, "big.txt", strings.Repeat("zebra ", 2000)) // 12,000 bytes
	writeFile(t, dir, "notes.bin", "not a document")
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.txt"), 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	links := map[string]string{
		"zero.txt":      "/dev/zero",
		"passwd.txt":    "/etc/passwd",
		"secret.txt":    secret,
		"up.txt":        "../" + filepath.Base(outside) + "/secret.txt",
		"inside.txt":    "a.txt",
		"dirlink.txt":   "sub",
		"broken.txt":    "nowhere.txt",
		"sub/again.txt": "../a.txt",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	st := newStore(t, "0-3")
	done := make(chan struct{})
	var sum *Summary
	var err error
	go func() {
		defer close(done)
		sum, err = ImportDocsWith(ctx, st, dir, DocOptions{MaxFileBytes: 10000})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the import hangs (a FIFO was opened for reading?)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, _ := st.DB().Query(`SELECT ext_id FROM documents ORDER BY ext_id`)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if got, want := strings.Join(ids, " "), "a.txt inside.txt sub/again.txt sub/b.md"; got != want {
		t.Fatalf("imported %q, want %q", got, want)
	}
	var leaked int
	st.DB().QueryRow(`SELECT count(*) FROM documents WHERE body LIKE '%secret%' OR body LIKE '%root:%'`).Scan(&leaked)
	if leaked != 0 {
		t.Fatal("a file outside the folder was imported")
	}
	report := sum.String()
	for _, want := range []string{
		"skipped 1 file: not a regular file (named pipe, device or socket) — " + filepath.Join(dir, "pipe.txt"),
		"skipped 1 file: larger than the size limit (--max-file-size) — " + filepath.Join(dir, "big.txt"),
		"skipped 4 files: symlink leading outside the folder (not followed)",
		"skipped 1 file: symlink to a directory (not followed)",
		"skipped 1 file: broken symlink",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("summary %q\nlacks %q", report, want)
		}
	}
	// The default limit reads the 12 KB file.
	sum, err = ImportDocs(ctx, st, dir, false)
	if err != nil || sum.Inserted["documents"] != 1 || strings.Contains(sum.String(), "size limit") {
		t.Fatalf("default limit: %v %v", sum, err)
	}
}

// TestDocsDirNamesBecomeUsableIDs: a file name with spaces or control
// characters becomes a percent-encoded id that exports and re-imports.
func TestDocsDirNamesBecomeUsableIDs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "my notes.txt", "zebra one")
	writeFile(t, dir, "line\nbreak.txt", "zebra two")
	writeFile(t, dir, "100%.txt", "zebra three")
	st := newStore(t, "0-3")
	if _, err := ImportDocs(ctx, st, dir, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"my%20notes.txt", "line%0Abreak.txt", "100%25.txt"} {
		d, err := st.DocumentByExtID(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if d.Meta["path"] == id {
			t.Fatalf("%s: metadata path should keep the real name", id)
		}
	}
	qrels := writeFile(t, t.TempDir(), "q.tsv", "q1\tzebra\n")
	if _, err := ImportQueries(ctx, st, qrels, false); err != nil {
		t.Fatal(err)
	}
	r := writeFile(t, t.TempDir(), "r.qrels", "q1 0 my%20notes.txt 2\nq1 0 line%0Abreak.txt 1\n")
	if _, err := ImportQrels(ctx, st, r, QrelsOptions{Labeler: "judge"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := ExportQrels(ctx, st, "judge", &out); err != nil || out.String() != "q1 0 line%0Abreak.txt 1\nq1 0 my%20notes.txt 2\n" {
		t.Fatalf("export: %v %q", err, out.String())
	}
}

// TestLineWithoutEndIsBounded: a .jsonl that never ends a line (a link to
// /dev/zero, a binary) is an error, not an out-of-memory crash: the device
// is refused for not being a regular file (TestNamedFileMustBeRegular).
func TestLineWithoutEndIsBounded(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "zero.jsonl")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, "0-3")
	_, err := ImportDocs(ctx, st, link, false)
	if err == nil || !strings.Contains(err.Error(), link+": not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

// TestNamedFileMustBeRegular: a FIFO or a device named as the file of any
// import is refused at once with its name (a FIFO used to hang the import,
// deaf to SIGTERM; /dev/zero would never end), and nothing is kept.
func TestNamedFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	imports := map[string]func(st *store.Store, path string) error{
		"docs":    func(st *store.Store, p string) error { _, err := ImportDocs(ctx, st, p, false); return err },
		"queries": func(st *store.Store, p string) error { _, err := ImportQueries(ctx, st, p, false); return err },
		"pairs": func(st *store.Store, p string) error {
			_, err := ImportPairs(ctx, st, p, "human:imported", false)
			return err
		},
		"qrels": func(st *store.Store, p string) error {
			_, err := ImportQrels(ctx, st, p, QrelsOptions{Labeler: "human:imported"})
			return err
		},
		"run": func(st *store.Store, p string) error { _, err := ImportRun(ctx, st, p, RunOptions{}); return err },
	}
	for name, imp := range imports {
		for _, path := range []string{fifo, "/dev/zero"} {
			if name == "docs" && path == "/dev/zero" {
				continue // refused for its name (no known document extension)
			}
			st := newStore(t, "0-3")
			done := make(chan error, 1)
			go func() { done <- imp(st, path) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), filepath.Base(path)) {
					t.Errorf("import %s %s: %v, want a refusal naming the file as not a regular file", name, path, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("import %s %s hangs", name, path)
			}
			var n int
			st.DB().QueryRow(`SELECT (SELECT count(*) FROM documents)+(SELECT count(*) FROM queries)+(SELECT count(*) FROM systems)`).Scan(&n)
			if n != 0 {
				t.Errorf("import %s %s kept %d rows", name, path, n)
			}
		}
	}
}

// xs reads as an endless run of 'x'.
type xs struct{}

func (xs) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestLineLimitIsExact: a line of MaxLineBytes is read whole, one byte more
// is "line longer than 64 MiB" at its line, with or without a line end (the
// last piece of a long line escaped the check: a 64 MiB + 1 line without a
// newline was reported as bad JSON).
func TestLineLimitIsExact(t *testing.T) {
	for _, c := range []struct {
		extra int
		end   string
		long  bool
	}{{0, "", false}, {0, "\n", false}, {0, "\r\n", false}, {1, "", true}, {1, "\n", true}, {1, "\r\n", true}} {
		tail, lines := "", 2 // without a line end, the long line is the file's last
		if c.end != "" {
			tail, lines = c.end+"{}\n", 3
		}
		r := io.MultiReader(strings.NewReader("{}\n"), io.LimitReader(xs{}, MaxLineBytes+int64(c.extra)), strings.NewReader(tail))
		got := map[int]int{}
		err := eachLine("big.jsonl", r, func(n int, line []byte) error { got[n] = len(line); return nil })
		switch {
		case c.long && (err == nil || err.Error() != `big.jsonl:2: line longer than 64 MiB (is this a text file?)`):
			t.Errorf("MaxLineBytes+%d, end %q: err = %v", c.extra, c.end, err)
		case !c.long && (err != nil || got[2] != MaxLineBytes || len(got) != lines):
			t.Errorf("MaxLineBytes, end %q: err = %v, line lengths %v", c.end, err, got)
		}
	}
	st := newStore(t, "0-3")
	seed(t, st)
	before := counts(t, st)
	r := io.MultiReader(strings.NewReader(`{"id":"fine","text":"zebra"}`+"\n"+`{"id":"big","text":"`), io.LimitReader(xs{}, MaxLineBytes+1-int64(len(`{"id":"big","text":"`))))
	_, err := ImportDocsJSONL(ctx, st, "big.jsonl", r, false)
	if err == nil || !strings.Contains(err.Error(), `big.jsonl:2: line longer than 64 MiB`) {
		t.Fatalf("err = %v", err)
	}
	if after := counts(t, st); after != before {
		t.Fatalf("a failed import changed the workspace:\n%s\n%s", before, after)
	}
}
