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

// eachQuery streams JSONL ({"id","text"}) or TSV (id<TAB>text) queries.
func eachQuery(path string, fn func(r *queryRecord) error) error {
	f, err := openFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	isJSON := strings.HasSuffix(strings.ToLower(filepath.Ext(path)), "jsonl") || strings.ToLower(filepath.Ext(path)) == ".json"
	return eachLine(path, f, func(n int, line []byte) error {
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
		return fn(&queryRecord{line: n, q: q})
	})
}

// ImportQueries imports a query file in one transaction, streaming it.
func ImportQueries(ctx context.Context, st *store.Store, path string, update bool) (*Summary, error) {
	sum := newSummary(path)
	err := st.Load(ctx, func(l *store.Load) error {
		return eachQuery(path, func(r *queryRecord) error {
			if err := l.Tick(); err != nil {
				return err
			}
			o, err := l.PutQuery(&r.q, r.line, update)
			if err != nil {
				return loadErr(path, r.line, err, firstQueryLine)
			}
			sum.count("queries", o)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// firstQueryLine finds the line where a query met again first appeared.
func firstQueryLine(path string, e *store.RepeatError, upTo int) int {
	return firstLine(func(fn func(*queryRecord) error) error { return eachQuery(path, fn) }, upTo, func(r *queryRecord) (int, bool) {
		return r.line, r.q.ExtID == e.ExtID
	})
}
