package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"

	"github.com/qrelbench/qrelbench/store"
)

// exportedPair is one line of `export pairs`: the pair's texts and metadata
// and every labeler's current grade. The field names extend the import
// format, so an export can be imported again.
type exportedPair struct {
	QueryID   string             `json:"query_id"`
	QueryText string             `json:"query_text"`
	DocID     string             `json:"doc_id"`
	DocText   string             `json:"doc_text"`
	Title     string             `json:"title,omitempty"`
	URL       string             `json:"url,omitempty"`
	Author    string             `json:"author,omitempty"`
	Modified  string             `json:"modified,omitempty"`
	Type      string             `json:"type,omitempty"`
	Meta      map[string]any     `json:"meta,omitempty"`
	Source    string             `json:"source"`
	BM25Rank  int                `json:"bm25_rank,omitempty"`
	Grades    map[string]int     `json:"grades"`
	Expected  map[string]float64 `json:"expected,omitempty"`
	Failed    map[string]string  `json:"failed,omitempty"` // labeler -> status for judgments without a grade
}

// ExportPairs writes every pair as JSONL with all current grades.
func ExportPairs(ctx context.Context, st *store.Store, w io.Writer) (int, error) {
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
	enc := json.NewEncoder(bw)
	for _, v := range views {
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
			name := names[j.LabelerID]
			if j.Status != store.StatusOK {
				if e.Failed == nil {
					e.Failed = map[string]string{}
				}
				e.Failed[name] = j.Status
				continue
			}
			e.Grades[name] = j.Grade
			if j.HasExpected {
				if e.Expected == nil {
					e.Expected = map[string]float64{}
				}
				e.Expected[name] = j.Expected
			}
		}
		if err := enc.Encode(e); err != nil {
			return 0, err
		}
	}
	return len(views), bw.Flush()
}
