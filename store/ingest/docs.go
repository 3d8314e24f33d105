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
	"github.com/qrelbench/qrelbench/store/quote"
)

// Summary says what an import did.
type Summary struct {
	File         string
	Inserted     map[string]int // by record kind: documents, queries, pairs, judgments
	Updated      map[string]int
	Unchanged    map[string]int
	Skipped      int                 // lines dropped because they name an unknown query or document (--skip-unknown)
	SkippedFiles map[string][]string // files of a folder passed over, by reason
}

func newSummary(file string) *Summary {
	return &Summary{File: file, Inserted: map[string]int{}, Updated: map[string]int{}, Unchanged: map[string]int{}}
}

func (s *Summary) count(kind string, o store.Outcome) { s.add(kind, o, 1) }

// add counts n records of a kind with the same outcome.
func (s *Summary) add(kind string, o store.Outcome, n int) {
	switch o {
	case store.Repeat: // met again in the same file: counted the first time
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
	head := "imported " + quote.Path(s.File)
	if !s.Changed() {
		head = "nothing changed: " + quote.Path(s.File) + " is already in the workspace"
	}
	tail := ""
	if s.Skipped > 0 {
		tail = fmt.Sprintf("; skipped %d lines naming an unknown query or document", s.Skipped)
	}
	if len(parts) == 0 {
		return head + " (no records)" + tail + skippedNote(s.SkippedFiles)
	}
	return head + " (" + strings.Join(parts, "; ") + ")" + tail + skippedNote(s.SkippedFiles)
}

// skippedNote is one line per reason files were passed over, with the first
// few files.
func skippedNote(skipped map[string][]string) string {
	var reasons []string
	for r := range skipped {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var b strings.Builder
	for _, r := range reasons {
		files := skipped[r]
		fmt.Fprintf(&b, "\n  skipped %d %s: %s", len(files), plural(len(files), "file", "files"), r)
		for i, f := range files {
			if i == 3 {
				fmt.Fprintf(&b, ", … %d more", len(files)-i)
				break
			}
			sep := ", "
			if i == 0 {
				sep = " — "
			}
			b.WriteString(sep + quote.Path(f))
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// docRecord is one document read from a file, with where it came from.
type docRecord struct {
	line int
	doc  store.Document
}

var docKnownKeys = map[string]bool{"id": true, "text": true, "title": true, "url": true, "author": true, "modified": true, "type": true, "meta": true}

// DocOptions control a document import.
type DocOptions struct {
	Update bool // replace stored documents whose content differs
	// MaxFileBytes bounds each file of a document folder; larger ones are
	// skipped and reported (0: DefaultMaxFileBytes).
	MaxFileBytes int64
}

// eachDoc streams the documents of a JSONL or CSV file, or of a directory
// of .txt/.md/.html files; files of a directory that were passed over are
// added to skipped (reason -> files).
func eachDoc(ctx context.Context, path string, opt DocOptions, skipped map[string][]string, fn func(r *docRecord) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", quote.Path(path), unwrapPath(err))
	}
	if st.IsDir() {
		return readDocDir(ctx, path, opt.MaxFileBytes, skipped, fn)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return eachDocCSV(path, fn)
	case ".jsonl", ".ndjson", ".json":
		f, err := openFile(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return eachDocJSONL(path, f, fn)
	}
	return fmt.Errorf("%s: unknown document format (use .jsonl, .csv or a directory of .txt/.md/.html files)", quote.Path(path))
}

func eachDocJSONL(path string, r io.Reader, fn func(r *docRecord) error) error {
	return eachLine(path, r, func(n int, line []byte) error {
		obj, err := decodeObject(path, n, line)
		if err != nil {
			return err
		}
		d, err := docFromFields(path, n, obj)
		if err != nil {
			return err
		}
		return fn(&docRecord{line: n, doc: d})
	})
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

func eachDocCSV(path string, fn func(r *docRecord) error) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err != nil {
		return lineErr(path, 1, "cannot read the header row: %v", err)
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
			return lineErr(path, 1, "header has no %q column (columns: %s)", need, quote.Text(strings.Join(header, ", "), 200))
		}
	}
	r.ReuseRecord = true
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
					return lineErr(path, pe.StartLine, "bad CSV: %v (at line %d)", pe.Err, pe.Line)
				}
				return lineErr(path, pe.StartLine, "bad CSV: %v", pe.Err)
			}
			return fmt.Errorf("%s: bad CSV: %w", quote.Path(path), err)
		}
		line, _ := r.FieldPos(0)
		obj := map[string]any{}
		for name, i := range cols {
			if !utf8.ValidString(rec[i]) {
				return lineErr(path, line, "invalid UTF-8")
			}
			if rec[i] != "" || name == "id" || name == "text" {
				obj[name] = rec[i]
			}
		}
		d, err := docFromFields(path, line, obj)
		if err != nil {
			return err
		}
		if err := fn(&docRecord{line: line, doc: d}); err != nil {
			return err
		}
	}
	return nil
}

// DefaultMaxFileBytes bounds one file of a document folder unless
// DocOptions.MaxFileBytes says otherwise.
const DefaultMaxFileBytes = 16 << 20

// Why a file of a document folder was not read. Files with other extensions
// are not documents and are passed over without a word.
const (
	skipSymlinkOut   = "symlink leading outside the folder (not followed)"
	skipSymlinkDir   = "symlink to a directory (not followed)"
	skipSymlinkOdd   = "symlink to something that is not a regular file"
	skipSymlinkBroke = "broken symlink"
	skipNotRegular   = "not a regular file (named pipe, device or socket)"
	skipTooLarge     = "larger than the size limit (--max-file-size)"
)

// readDocDir reads the .txt/.md/.html files of a folder. Only regular files
// inside it are read: a symlink is followed only when it resolves to a
// regular file inside the folder, and a named pipe, device or socket is never
// opened for reading (a FIFO would block forever, /dev/zero never ends). Each
// file is bounded by maxBytes. What is passed over is recorded in skipped
// (reason -> files).
func readDocDir(ctx context.Context, root string, maxBytes int64, skipped map[string][]string, emit func(*docRecord) error) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", quote.Path(root), unwrapPath(err))
	}
	if real, err = filepath.Abs(real); err != nil {
		return err
	}
	n := 0
	err = filepath.WalkDir(real, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			if p != real && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".txt" && ext != ".md" && ext != ".html" && ext != ".htm" {
			return nil
		}
		rel, _ := filepath.Rel(real, p)
		rel = filepath.ToSlash(rel)
		shown := filepath.Join(root, rel) // messages name the file as the user knows it
		target, why := insideRegular(real, p, e)
		if why != "" {
			skipped[why] = append(skipped[why], shown)
			return nil
		}
		data, info, why, err := readBounded(target, maxBytes)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", quote.Path(shown), unwrapPath(err))
		}
		if why != "" {
			skipped[why] = append(skipped[why], shown)
			return nil
		}
		if !utf8.Valid(data) {
			return lineErr(shown, 0, "invalid UTF-8")
		}
		d := store.Document{ExtID: store.EscapeID(rel), URL: rel, Modified: info.ModTime().UTC().Truncate(1e9), Type: "file",
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
			return lineErr(shown, 0, "empty text")
		}
		n++
		return emit(&docRecord{doc: d})
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: no .txt, .md or .html files found%s", quote.Path(root), skippedNote(skipped))
	}
	return nil
}

// insideRegular returns the path to read for a folder entry, or why it is
// passed over: a symlink must resolve to a regular file inside root.
func insideRegular(root, p string, e fs.DirEntry) (string, string) {
	if e.Type()&fs.ModeSymlink == 0 {
		if !e.Type().IsRegular() {
			return "", skipNotRegular
		}
		return p, ""
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", skipSymlinkBroke
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", skipSymlinkOut
	}
	st, err := os.Lstat(target)
	switch {
	case err != nil:
		return "", skipSymlinkBroke
	case st.IsDir():
		return "", skipSymlinkDir
	case !st.Mode().IsRegular():
		return "", skipSymlinkOdd
	}
	return target, ""
}

// readBounded reads a regular file of at most maxBytes. It opens without
// blocking and without following a symlink, and checks what it opened (the
// entry could have been replaced by a FIFO since it was listed).
func readBounded(p string, maxBytes int64) ([]byte, fs.FileInfo, string, error) {
	f, err := openNoFollow(p)
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, "", err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, skipNotRegular, nil
	}
	if info.Size() > maxBytes {
		return nil, nil, skipTooLarge, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, nil, "", err
	}
	if int64(len(data)) > maxBytes { // it grew while being read
		return nil, nil, skipTooLarge, nil
	}
	return data, info, "", nil
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

// ImportDocs imports a document file or directory in one transaction.
func ImportDocs(ctx context.Context, st *store.Store, path string, update bool) (*Summary, error) {
	return ImportDocsWith(ctx, st, path, DocOptions{Update: update})
}

// ImportDocsWith is ImportDocs with every option. The file is streamed:
// memory does not grow with its size.
func ImportDocsWith(ctx context.Context, st *store.Store, path string, opt DocOptions) (*Summary, error) {
	skipped := map[string][]string{}
	sum, err := importDocs(ctx, st, path, opt.Update, func(fn func(*docRecord) error) error {
		return eachDoc(ctx, path, opt, skipped, fn)
	}, func(path string, e *store.RepeatError, upTo int) int {
		return firstDocLine(upTo, e, func(fn func(*docRecord) error) error { return eachDoc(ctx, path, opt, map[string][]string{}, fn) })
	})
	if sum != nil {
		sum.SkippedFiles = skipped
	}
	return sum, err
}

// ImportDocsJSONL imports JSONL documents from a reader (name is used in
// messages), in one transaction.
func ImportDocsJSONL(ctx context.Context, st *store.Store, name string, r io.Reader, update bool) (*Summary, error) {
	// A reader cannot be read twice: a repeat's first line is told only
	// when the load knows it.
	return importDocs(ctx, st, name, update, func(fn func(*docRecord) error) error {
		return eachDocJSONL(name, r, fn)
	}, func(string, *store.RepeatError, int) int { return 0 })
}

func importDocs(ctx context.Context, st *store.Store, path string, update bool, each func(func(*docRecord) error) error,
	first func(path string, e *store.RepeatError, upTo int) int) (*Summary, error) {
	sum := newSummary(path)
	err := st.Load(ctx, func(l *store.Load) error {
		return each(func(r *docRecord) error {
			if err := l.Tick(); err != nil {
				return err
			}
			o, err := l.PutDocument(&r.doc, r.line, update)
			if err != nil {
				return loadErr(path, r.line, err, first)
			}
			sum.count("documents", o)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// firstDocLine finds the line where a document met again first appeared.
func firstDocLine(upTo int, e *store.RepeatError, each func(func(*docRecord) error) error) int {
	return firstLine(each, upTo, func(r *docRecord) (int, bool) { return r.line, r.doc.ExtID == e.ExtID })
}

// firstLine reads records again from the start, up to line upTo, and
// returns the line of the first one match accepts (0 if none): where a
// record met again first appeared, found without remembering the file.
func firstLine[R any](each func(func(*R) error) error, upTo int, match func(*R) (line int, ok bool)) int {
	found := 0
	each(func(r *R) error {
		line, ok := match(r)
		if line >= upTo {
			return errStop
		}
		if ok {
			found = line
			return errStop
		}
		return nil
	})
	return found
}

func wrapAt(file string, line int, err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return err
	}
	if line == 0 {
		return fmt.Errorf("%s: %w", quote.Path(file), err)
	}
	return fmt.Errorf("%s:%d: %w", quote.Path(file), line, err)
}
