package ingest

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/qrelbench/qrelbench/store"
)

// Format is the file format of `export pairs`.
type Format string

// The formats of `export pairs`: JSONL (the import format, extended), and
// CSV and TSV with one row per pair and columns per labeler, for
// spreadsheets and annotation tools (Quepid, Label Studio).
const (
	FormatJSONL Format = "jsonl"
	FormatCSV   Format = "csv"
	FormatTSV   Format = "tsv"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatJSONL, FormatCSV, FormatTSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: use jsonl, csv or tsv", s)
}

// score is an expected grade as exported: rounded to scoreDecimals so that
// the arithmetic that produced it (2.3249999999999997) does not show.
type score float64

// scoreDecimals is far finer than any grade probability a model reports.
const scoreDecimals = 4

func (s score) String() string {
	p := math.Pow10(scoreDecimals)
	return strconv.FormatFloat(math.Round(float64(s)*p)/p, 'f', -1, 64)
}

func (s score) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return []byte("null"), nil
	}
	return []byte(s.String()), nil
}

// exportedPair is one line of `export pairs`: the pair's texts and metadata
// and every labeler's current verdict. The field names extend the import
// format, so an export can be imported again.
type exportedPair struct {
	QueryID   string            `json:"query_id"`
	QueryText string            `json:"query_text"`
	DocID     string            `json:"doc_id"`
	DocText   string            `json:"doc_text"`
	Title     string            `json:"title,omitempty"`
	URL       string            `json:"url,omitempty"`
	Author    string            `json:"author,omitempty"`
	Modified  string            `json:"modified,omitempty"`
	Type      string            `json:"type,omitempty"`
	Meta      map[string]any    `json:"meta,omitempty"`
	Source    string            `json:"source"`
	BM25Rank  int               `json:"bm25_rank,omitempty"`
	Grades    map[string]int    `json:"grades"`
	Expected  map[string]score  `json:"expected,omitempty"`
	Unsure    []string          `json:"unsure,omitempty"` // labelers who marked the pair "judge later"
	Failed    map[string]string `json:"failed,omitempty"` // labeler -> status (error, refused, unparseable)
	Notes     map[string]string `json:"notes,omitempty"`  // labeler -> the note kept with the verdict
}

// ExportPairs writes every pair with every labeler's current verdict (grade,
// expected grade, unsure mark, failure, note) in the given format. It
// returns the number of pairs written.
func ExportPairs(ctx context.Context, st *store.Store, w io.Writer, format Format) (int, error) {
	labelers, err := st.Labelers(ctx)
	if err != nil {
		return 0, err
	}
	names := map[int64]string{}
	for _, l := range labelers {
		names[l.ID] = l.Name
	}
	views, err := st.PairViews(ctx, store.PairFilter{})
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	var write func(e *exportedPair) error
	switch format {
	case FormatJSONL, "":
		enc := json.NewEncoder(bw)
		write = func(e *exportedPair) error { return enc.Encode(e) }
	case FormatCSV, FormatTSV:
		if write, err = tableWriter(ctx, st, bw, format, names); err != nil {
			return 0, err
		}
	default:
		return 0, fmt.Errorf("unknown format %q: use jsonl, csv or tsv", format)
	}
	for _, v := range views {
		if err := exportableIDs(v.QueryExtID, v.Doc.ExtID); err != nil {
			return 0, err
		}
		js, err := st.PairJudgments(ctx, v.ID)
		if err != nil {
			return 0, err
		}
		e := exportedPair{QueryID: v.QueryExtID, QueryText: v.QueryText, DocID: v.Doc.ExtID, DocText: v.Doc.Body,
			Title: v.Doc.Title, URL: v.Doc.URL, Author: v.Doc.Author, Type: v.Doc.Type, Meta: v.Doc.Meta,
			Source: v.Source, BM25Rank: v.BM25Rank, Grades: map[string]int{}}
		if !v.Doc.Modified.IsZero() {
			e.Modified = v.Doc.Modified.Format("2006-01-02T15:04:05Z07:00")
		}
		for _, j := range js {
			e.add(names[j.LabelerID], j)
		}
		if err := write(&e); err != nil {
			return 0, err
		}
	}
	return len(views), bw.Flush()
}

// add records one labeler's judgment on the pair.
func (e *exportedPair) add(name string, j store.Judgment) {
	if j.Note != "" {
		if e.Notes == nil {
			e.Notes = map[string]string{}
		}
		e.Notes[name] = j.Note
	}
	switch j.Status {
	case store.StatusOK:
		e.Grades[name] = j.Grade
		if j.HasExpected {
			if e.Expected == nil {
				e.Expected = map[string]score{}
			}
			e.Expected[name] = score(j.Expected)
		}
	case store.StatusUnsure:
		e.Unsure = append(e.Unsure, name)
		slices.Sort(e.Unsure)
	default:
		if e.Failed == nil {
			e.Failed = map[string]string{}
		}
		e.Failed[name] = j.Status
	}
}

// tableWriter writes the header of a CSV or TSV export and returns the
// writer of its rows: the pair's fields, then per labeler (by name) its
// verdict ("grade:NAME": the grade, or unsure, error, refused,
// unparseable), and, when that labeler has any, "expected:NAME" and
// "note:NAME". Fields are quoted as spreadsheets read them (RFC 4180; TSV
// the same with tabs), so texts may hold commas, tabs, quotes and newlines.
func tableWriter(ctx context.Context, st *store.Store, bw *bufio.Writer, format Format, names map[int64]string) (func(*exportedPair) error, error) {
	judged, err := st.JudgedLabelers(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(judged, func(a, b store.JudgedLabeler) int {
		if names[a.LabelerID] < names[b.LabelerID] {
			return -1
		}
		if names[a.LabelerID] > names[b.LabelerID] {
			return 1
		}
		return 0
	})
	cw := csv.NewWriter(bw)
	if format == FormatTSV {
		cw.Comma = '\t'
	}
	header := []string{"query_id", "query_text", "doc_id", "title", "url", "author", "modified", "type", "source", "bm25_rank", "meta", "doc_text"}
	for _, j := range judged {
		n := names[j.LabelerID]
		header = append(header, "grade:"+n)
		if j.Expected {
			header = append(header, "expected:"+n)
		}
		if j.Notes {
			header = append(header, "note:"+n)
		}
	}
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	row := make([]string, 0, len(header))
	return func(e *exportedPair) error {
		meta := ""
		if len(e.Meta) > 0 {
			b, err := json.Marshal(e.Meta)
			if err != nil {
				return err
			}
			meta = string(b)
		}
		rank := ""
		if e.BM25Rank > 0 {
			rank = strconv.Itoa(e.BM25Rank)
		}
		row = append(row[:0], e.QueryID, e.QueryText, e.DocID, e.Title, e.URL, e.Author, e.Modified, e.Type, e.Source, rank, meta, e.DocText)
		for _, j := range judged {
			n := names[j.LabelerID]
			verdict := ""
			if g, ok := e.Grades[n]; ok {
				verdict = strconv.Itoa(g)
			} else if s, ok := e.Failed[n]; ok {
				verdict = s
			} else if slices.Contains(e.Unsure, n) {
				verdict = store.StatusUnsure
			}
			row = append(row, verdict)
			if j.Expected {
				x := ""
				if v, ok := e.Expected[n]; ok {
					x = v.String()
				}
				row = append(row, x)
			}
			if j.Notes {
				row = append(row, e.Notes[n])
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}, nil
}
