package ingest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/qrelbench/qrelbench/store"
)

// Summary says what an import did.
type Summary struct {
	File      string
	Inserted  map[string]int // by record kind: documents, queries, pairs, judgments
	Updated   map[string]int
	Unchanged map[string]int
	Skipped   int // lines dropped because they name an unknown query or document (--skip-unknown)
}

func newSummary(file string) *Summary {
	return &Summary{File: file, Inserted: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}
}

func (s *Summary) count(kind string, o store.Outcome) { s.add(kind, o, 1) }

// add counts n records of a kind with the same outcome.
func (s *Summary) add(kind string, o store.Outcome, n int) {
	switch o {
	case store.Inserted:
		s.Inserted[kind] += n
	case store.Updated:
		s.Updated[kind] += n
	default:
		s.Unchanged[kind] += n
	}
}

// Changed reports whether the import changed anything.
func (s *Summary) Changed() bool {
	for _, m := range []map[string]int{s.Inserted, s.Updated} {
		for _, n := range m {
			if n > 0 {
				return true
			}
		}
	}
	return false
}

func (s *Summary) String() string {
	var parts []string
	kinds := map[string]bool{}
	for _, m := range []map[string]int{s.Inserted, s.Updated, s.Unchanged} {
		for k := range m {
			kinds[k] = true
		}
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		p := fmt.Sprintf("%s: %d new", k, s.Inserted[k])
		if s.Updated[k] > 0 {
			p += fmt.Sprintf(", %d updated", s.Updated[k])
		}
		p += fmt.Sprintf(", %d unchanged", s.Unchanged[k])
		parts = append(parts, p)
	}
	head := "imported " + s.File
	if !s.Changed() {
		head = "nothing changed: " + s.File + " is already in the workspace"
	}
	tail := ""
	if s.Skipped > 0 {
		tail = fmt.Sprintf("; skipped %d lines naming an unknown query or document", s.Skipped)
	}
	if len(parts) == 0 {
		return head + " (no records)" + tail
	}
	return head + " (" + strings.Join(parts, "; ") + ")" + tail
}

// docRecord is one document read from a file, with where it came from.
type docRecord struct {
	line int
	doc  store.Document
}

var docKnownKeys = map[string]bool{"id": true, "text": true, "title": true, "url": true, "author": true, "modified": true, "type": true, "meta": true}

// ReadDocs reads a JSONL or CSV file, or a directory of .txt/.md/.html files.
func ReadDocs(path string) ([]docRecord, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.IsDir() {
		return readDocDir(path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return readDocCSV(path)
	case ".jsonl", ".ndjson", ".json":
		return readDocJSONL(path)
	}
	return nil, fmt.Errorf("%s: unknown document format (use .jsonl, .csv or a directory of .txt/.md/.html files)", path)
}

func readDocJSONL(path string) ([]docRecord, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeDocJSONL(path, f)
}

func decodeDocJSONL(path string, r io.Reader) ([]docRecord, error) {
	var out []docRecord
	err := eachLine(path, r, func(n int, line []byte) error {
		obj, err := decodeObject(path, n, line)
		if err != nil {
			return err
		}
		d, err := docFromFields(path, n, obj)
		if err != nil {
			return err
		}
		out = append(out, docRecord{line: n, doc: d})
		return nil
	})
	return out, err
}

// docFromFields builds a document from known keys; any other key is kept as
// metadata (and a "meta" object is merged in).
func docFromFields(file string, n int, obj map[string]any) (store.Document, error) {
	var d store.Document
	var err error
	if d.ExtID, err = idField(file, n, obj, "id"); err != nil {
		return d, err
	}
	if d.Body, err = textField(file, n, obj, "text"); err != nil {
		return d, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"title", &d.Title}, {"url", &d.URL}, {"author", &d.Author}, {"type", &d.Type}} {
		if *f.dst, err = optString(file, n, obj, f.key); err != nil {
			return d, err
		}
	}
	mod, err := optString(file, n, obj, "modified")
	if err != nil {
		return d, err
	}
	if d.Modified, err = ParseTime(mod); err != nil {
		return d, lineErr(file, n, "field \"modified\": %v", err)
	}
	for k, v := range obj {
		if docKnownKeys[k] {
			continue
		}
		if d.Meta == nil {
			d.Meta = map[string]any{}
		}
		d.Meta[k] = v
	}
	if m, ok := obj["meta"].(map[string]any); ok {
		if d.Meta == nil {
			d.Meta = map[string]any{}
		}
		for k, v := range m {
			d.Meta[k] = v
		}
	} else if obj["meta"] != nil {
		return d, lineErr(file, n, "field \"meta\" must be an object")
	}
	d.Meta = normaliseMeta(d.Meta)
	return d, nil
}

// normaliseMeta round-trips metadata through JSON so json.Number values
// compare equal to what the store decodes later.
func normaliseMeta(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func readDocCSV(path string) ([]docRecord, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err != nil {
		return nil, lineErr(path, 1, "cannot read the header row: %v", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"id", "text"} {
		if _, ok := cols[need]; !ok {
			return nil, lineErr(path, 1, "header has no %q column (columns: %s)", need, strings.Join(header, ", "))
		}
	}
	var out []docRecord
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// FieldPos would panic here: a record that fails in its first
			// field has no field positions.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if pe.Line != pe.StartLine {
					return nil, lineErr(path, pe.StartLine, "bad CSV: %v (at line %d)", pe.Err, pe.Line)
				}
				return nil, lineErr(path, pe.StartLine, "bad CSV: %v", pe.Err)
			}
			return nil, fmt.Errorf("%s: bad CSV: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		obj := map[string]any{}
		for name, i := range cols {
			if !utf8.ValidString(rec[i]) {
				return nil, lineErr(path, line, "invalid UTF-8")
			}
			if rec[i] != "" || name == "id" || name == "text" {
				obj[name] = rec[i]
			}
		}
		d, err := docFromFields(path, line, obj)
		if err != nil {
			return nil, err
		}
		out = append(out, docRecord{line: line, doc: d})
	}
	return out, nil
}

func readDocDir(root string) ([]docRecord, error) {
	var out []docRecord
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != root && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".txt" && ext != ".md" && ext != ".html" && ext != ".htm" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", p, err)
		}
		if !utf8.Valid(data) {
			return lineErr(p, 0, "invalid UTF-8")
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		d := store.Document{ExtID: rel, URL: rel, Modified: info.ModTime().UTC().Truncate(1e9), Type: "file",
			Meta: map[string]any{"path": rel, "name": e.Name()}}
		text := string(data)
		switch ext {
		case ".html", ".htm":
			d.Title, d.Body = HTMLToText(text)
			d.Type = "page"
		case ".md":
			d.Body = text
			d.Title = markdownTitle(text)
		default:
			d.Body = text
		}
		if d.Title == "" {
			d.Title = strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		}
		if strings.TrimSpace(d.Body) == "" {
			return lineErr(p, 0, "empty text")
		}
		out = append(out, docRecord{doc: d})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no .txt, .md or .html files found", root)
	}
	return out, nil
}

func markdownTitle(s string) string {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "# ") {
			return strings.TrimSpace(line[2:])
		}
	}
	return ""
}

var (
	reDropBlocks = regexp.MustCompile(`(?is)<(script|style|noscript|template)\b.*?</(script|style|noscript|template)\s*>`)
	reComment    = regexp.MustCompile(`(?s)<!--.*?-->`)
	reTitle      = regexp.MustCompile(`(?is)<title\b[^>]*>(.*?)</title>`)
	reBlockTag   = regexp.MustCompile(`(?i)</?(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|blockquote|pre)\b[^>]*>`)
	reTag        = regexp.MustCompile(`(?s)<[^>]*>`)
	reSpaces     = regexp.MustCompile(`[ \t\f\v\r]+`)
	reBlankLines = regexp.MustCompile(`\n\s*\n+`)
)

// HTMLToText reduces an HTML page to its title and readable text: scripts,
// styles and comments dropped, block elements become line breaks, entities
// decoded.
func HTMLToText(s string) (title, text string) {
	if m := reTitle.FindStringSubmatch(s); m != nil {
		title = strings.TrimSpace(html.UnescapeString(reTag.ReplaceAllString(m[1], "")))
	}
	s = reComment.ReplaceAllString(s, " ")
	s = reDropBlocks.ReplaceAllString(s, " ")
	s = reTitle.ReplaceAllString(s, " ")
	s = reBlockTag.ReplaceAllString(s, "\n")
	s = reTag.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	s = reSpaces.ReplaceAllString(s, " ")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	text = strings.TrimSpace(reBlankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
	return title, text
}

// checkDuplicateDocs rejects the same id twice in one file with different
// content; identical repeats are dropped.
func checkDuplicateDocs(file string, recs []docRecord) ([]docRecord, error) {
	seen := map[string]int{}
	out := recs[:0:0]
	for _, r := range recs {
		if i, ok := seen[r.doc.ExtID]; ok {
			prev := out[i]
			if prev.doc.Body != r.doc.Body || prev.doc.Title != r.doc.Title {
				return nil, lineErr(file, r.line, "document id %q appears again with different content (first at line %d)", r.doc.ExtID, prev.line)
			}
			continue
		}
		seen[r.doc.ExtID] = len(out)
		out = append(out, r)
	}
	return out, nil
}

// ImportDocs imports a document file or directory in one transaction.
func ImportDocs(ctx context.Context, st *store.Store, path string, update bool) (*Summary, error) {
	recs, err := ReadDocs(path)
	if err != nil {
		return nil, err
	}
	return importDocRecords(ctx, st, path, recs, update)
}

// ImportDocsJSONL imports JSONL documents from a reader (name is used in
// messages), in one transaction.
func ImportDocsJSONL(ctx context.Context, st *store.Store, name string, r io.Reader, update bool) (*Summary, error) {
	recs, err := decodeDocJSONL(name, r)
	if err != nil {
		return nil, err
	}
	return importDocRecords(ctx, st, name, recs, update)
}

func importDocRecords(ctx context.Context, st *store.Store, path string, recs []docRecord, update bool) (*Summary, error) {
	recs, err := checkDuplicateDocs(path, recs)
	if err != nil {
		return nil, err
	}
	sum := newSummary(path)
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := range recs {
			o, err := tx.PutDocument(ctx, &recs[i].doc, update)
			if err != nil {
				return wrapAt(path, recs[i].line, err)
			}
			sum.count("documents", o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

func wrapAt(file string, line int, err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return err
	}
	if line == 0 {
		return fmt.Errorf("%s: %w", file, err)
	}
	return fmt.Errorf("%s:%d: %w", file, line, err)
}
