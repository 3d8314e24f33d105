package ingest

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

type queryRecord struct {
	line int
	q    store.Query
}

// ReadQueries reads JSONL ({"id","text"}) or TSV (id<TAB>text) queries.
func ReadQueries(path string) ([]queryRecord, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	isJSON := strings.HasSuffix(strings.ToLower(filepath.Ext(path)), "jsonl") || strings.ToLower(filepath.Ext(path)) == ".json"
	var out []queryRecord
	err = eachLine(path, f, func(n int, line []byte) error {
		var q store.Query
		if isJSON || bytes.HasPrefix(bytes.TrimSpace(line), []byte("{")) {
			obj, err := decodeObject(path, n, line)
			if err != nil {
				return err
			}
			if q.ExtID, err = idField(path, n, obj, "id"); err != nil {
				return err
			}
			if q.Text, err = textField(path, n, obj, "text"); err != nil {
				return err
			}
		} else {
			id, text, ok := strings.Cut(string(line), "\t")
			if !ok {
				return lineErr(path, n, "expected id<TAB>text")
			}
			q.ExtID, q.Text = strings.TrimSpace(id), strings.TrimSpace(text)
			if err := store.CheckID(q.ExtID); err != nil {
				return lineErr(path, n, "bad query id: %v", err)
			}
			if q.Text == "" {
				return lineErr(path, n, "empty text for query %s", quote.Input(q.ExtID))
			}
		}
		q.Origin = store.OriginImported
		out = append(out, queryRecord{line: n, q: q})
		return nil
	})
	return out, err
}

// ImportQueries imports a query file in one transaction.
func ImportQueries(ctx context.Context, st *store.Store, path string, update bool) (*Summary, error) {
	recs, err := ReadQueries(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]queryRecord{}
	sum := newSummary(path)
	err = st.Tx(ctx, func(tx *store.Store) error {
		for _, r := range recs {
			if prev, ok := seen[r.q.ExtID]; ok {
				if prev.q.Text != r.q.Text {
					return lineErr(path, r.line, "query id %s appears again with a different text (first at line %d)", quote.Input(r.q.ExtID), prev.line)
				}
				continue
			}
			seen[r.q.ExtID] = r
			o, err := tx.PutQuery(ctx, &r.q, update)
			if err != nil {
				return wrapAt(path, r.line, err)
			}
			sum.count("queries", o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}
