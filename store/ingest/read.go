// Package ingest reads corpus, query, pair and qrels files into a workspace
// and writes exports. Every import is one transaction: on any error nothing
// is kept, and the error names the file and line.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// LineError is a problem with one line of an input file.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", quote.Path(e.File), e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", quote.Path(e.File), e.Line, e.Msg)
}

func lineErr(file string, line int, format string, args ...any) error {
	return &LineError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// MaxLineBytes bounds one line of an input file: lines may be long (a
// 22,000-word passage is 150 KB), but a file without line ends (a link to
// /dev/zero, a binary) must end in an error, not in running out of memory.
const MaxLineBytes = 64 << 20

// eachLine calls fn with every non-blank line (1-based numbers), rejecting
// invalid UTF-8 and lines over MaxLineBytes.
func eachLine(file string, r io.Reader, fn func(n int, line []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<20)
	n := 0
	var long []byte // a line longer than the reader's buffer
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// Past the limit with room for a line end ("\r\n"): too long
			// whatever follows, so stop before holding more of it.
			if len(long)+len(line) > MaxLineBytes+2 {
				return tooLong(file, n+1)
			}
			long = append(long, line...)
			continue
		}
		if long != nil {
			long = append(long, line...)
			line, long = long, nil
		}
		if len(line) > 0 {
			n++
			line = bytes.TrimRight(line, "\r\n")
			if n == 1 {
				line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // UTF-8 BOM
			}
			// The last piece of a long line (or a file's last line, without
			// a line end) is only measured here.
			if len(line) > MaxLineBytes {
				return tooLong(file, n)
			}
			if !utf8.Valid(line) {
				return lineErr(file, n, "invalid UTF-8")
			}
			if len(bytes.TrimSpace(line)) > 0 {
				if ferr := fn(n, line); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
	}
}

func tooLong(file string, n int) error {
	return lineErr(file, n, "line longer than %d MiB (is this a text file?)", MaxLineBytes>>20)
}

// eachFileLine opens path and calls fn with each non-blank line.
func eachFileLine(path string, fn func(n int, line []byte) error) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return eachLine(path, f, fn)
}

// openFile opens a file named on the command line. Symlinks are followed
// (the user named it), but only a regular file is read: a FIFO would hang
// the import and /dev/zero would never end.
func openFile(path string) (*os.File, error) {
	f, err := openNonBlocking(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", quote.Path(path), unwrapPath(err))
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		what := "not a regular file"
		if st.IsDir() {
			what = "a directory"
		}
		err = fmt.Errorf("%s", what)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot read %s: %w", quote.Path(path), err)
	}
	return f, nil
}

// decodeObject parses one JSON object line, keeping numbers exact.
func decodeObject(file string, n int, line []byte) (map[string]any, error) {
	if obj, ok := decodeLine(line); ok {
		return obj, nil
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, lineErr(file, n, "bad JSON: %v", err)
	}
	if dec.More() {
		return nil, lineErr(file, n, "bad JSON: more than one value on the line")
	}
	if obj == nil {
		return nil, lineErr(file, n, "bad JSON: expected an object")
	}
	return obj, nil
}

// idField reads an id that may be written as a string or a number.
func idField(file string, n int, obj map[string]any, key string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", lineErr(file, n, "missing field %q", key)
	}
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		return "", lineErr(file, n, "field %q must be a string or a number", key)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", lineErr(file, n, "empty %q", key)
	}
	if err := store.CheckID(s); err != nil {
		return "", lineErr(file, n, "field %q: %v", key, err)
	}
	return s, nil
}

// textField reads a required non-empty string.
func textField(file string, n int, obj map[string]any, key string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", lineErr(file, n, "missing field %q", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", lineErr(file, n, "field %q must be a string", key)
	}
	if strings.TrimSpace(s) == "" {
		return "", lineErr(file, n, "empty text in %q", key)
	}
	return s, nil
}

// optString reads an optional string field.
func optString(file string, n int, obj map[string]any, key string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", nil
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case json.Number:
		return t.String(), nil
	}
	return "", lineErr(file, n, "field %q must be a string", key)
}

// gradeField reads an optional integer grade.
func gradeField(file string, n int, obj map[string]any, key string) (int, bool, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, false, lineErr(file, n, "field %q must be an integer", key)
	}
	g, err := strconv.Atoi(num.String())
	if err != nil {
		return 0, false, lineErr(file, n, "field %q must be an integer, got %s", key, quote.Input(num.String()))
	}
	return g, true, nil
}

// ParseTime accepts RFC 3339, a plain date, "2006-01-02 15:04:05" or unix
// seconds.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unrecognised date %s (use RFC 3339, YYYY-MM-DD or unix seconds)", quote.Input(s))
}

// unwrapPath drops the file name an *fs.PathError repeats, so that a message
// names the file once, quoted.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
