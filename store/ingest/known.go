package ingest

import (
	"context"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// knownIDs resolves the query and document ids of a file that refers to
// the workspace's (qrels, runs), and collects the lines that name unknown
// ones: one error says how many and shows the first few, or, with
// --skip-unknown, the import drops them and says how many.
type knownIDs struct {
	queries, docs      map[string]int64 // when loaded whole (loadKnownIDs)
	queryID, docID     func(ext string) (int64, bool, error)
	lines              int // lines naming an unknown query or document
	unknownQ, unknownD map[string]bool
	first              []string
}

// loadKnownIDs reads every query and document id of the workspace.
func loadKnownIDs(ctx context.Context, st *store.Store) (*knownIDs, error) {
	k := &knownIDs{unknownQ: map[string]bool{}, unknownD: map[string]bool{}}
	var err error
	if k.queries, err = st.QueryIDs(ctx); err != nil {
		return nil, err
	}
	if k.docs, err = st.DocumentIDs(ctx); err != nil {
		return nil, err
	}
	k.queryID = func(ext string) (int64, bool, error) { id, ok := k.queries[ext]; return id, ok, nil }
	k.docID = func(ext string) (int64, bool, error) { id, ok := k.docs[ext]; return id, ok, nil }
	return k, nil
}

// loadIDs looks ids up in the workspace as a load meets them, so that
// memory does not grow with the workspace or the file (only with the
// unknown ids, to count them).
func loadIDs(l *store.Load) *knownIDs {
	return &knownIDs{queryID: l.QueryID, docID: l.DocumentID, unknownQ: map[string]bool{}, unknownD: map[string]bool{}}
}

// resolve returns the internal ids of a line's query and document; ok is
// false, and the line recorded, when either is not in the workspace.
func (k *knownIDs) resolve(line int, query, doc string) (q, d int64, ok bool, err error) {
	q, qok, err := k.queryID(query)
	if err != nil {
		return 0, 0, false, err
	}
	d, dok, err := k.docID(doc)
	if err != nil {
		return 0, 0, false, err
	}
	if qok && dok {
		return q, d, true, nil
	}
	k.lines++
	if !qok {
		k.unknownQ[query] = true
	}
	if !dok {
		k.unknownD[doc] = true
	}
	if len(k.first) < 5 {
		what := "query " + quote.Input(query)
		if qok {
			what = "document " + quote.Input(doc)
		}
		k.first = append(k.first, fmt.Sprintf("line %d (%s)", line, what))
	}
	return 0, 0, false, nil
}

// err is the error of a file with lines naming unknown ids (nil when there
// are none, or when they are skipped).
func (k *knownIDs) err(path string, skip bool) error {
	if k.lines == 0 || skip {
		return nil
	}
	return fmt.Errorf("%s: %d lines name a query or document that is not in the workspace (%d unknown queries, %d unknown documents), first: %s (import them first, or pass --skip-unknown)",
		quote.Path(path), k.lines, len(k.unknownQ), len(k.unknownD), strings.Join(k.first, ", "))
}
