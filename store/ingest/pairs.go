package ingest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

type pairRecord struct {
	line     int
	q        store.Query
	d        store.Document
	grade    int
	hasGrade bool
}

// pairOnlyKeys are the keys of a pairs line that are not the document's.
var pairOnlyKeys = []string{"query_id", "query_text", "human_grade", "doc_id", "doc_text",
	// Fields `export pairs` adds: grades are not re-imported (use
	// export/import qrels per labeler), and they are not document metadata
	// either.
	"grades", "expected", "unsure", "failed", "notes", "source", "bm25_rank"}

// eachPair streams a pairs JSONL file as in ../shared/data: query_id,
// query_text, doc_id, doc_text, optional title/url/author/modified/type,
// optional human_grade; any other key is kept as document metadata.
func eachPair(path string, fn func(r *pairRecord) error) error {
	return eachFileLine(path, func(n int, line []byte) error {
		obj, err := decodeObject(path, n, line)
		if err != nil {
			return err
		}
		var r pairRecord
		r.line = n
		if r.q.ExtID, err = idField(path, n, obj, "query_id"); err != nil {
			return err
		}
		if r.q.Text, err = textField(path, n, obj, "query_text"); err != nil {
			return err
		}
		r.q.Origin = store.OriginImported
		if r.grade, r.hasGrade, err = gradeField(path, n, obj, "human_grade"); err != nil {
			return err
		}
		// The document part reuses the document reader's rules, on the same
		// object with the pair's keys taken out and doc_id, doc_text renamed.
		docID, hasID := obj["doc_id"]
		docText, hasText := obj["doc_text"]
		if !hasID {
			return lineErr(path, n, "missing field \"doc_id\"")
		}
		if !hasText {
			return lineErr(path, n, "missing field \"doc_text\"")
		}
		for _, k := range pairOnlyKeys {
			delete(obj, k)
		}
		obj["id"], obj["text"] = docID, docText
		if r.d, err = docFromFields(path, n, obj); err != nil {
			return renameDocField(err)
		}
		return fn(&r)
	})
}

// renameDocField makes errors about the reused document reader speak of the
// pairs file's field names.
func renameDocField(err error) error {
	if le, ok := err.(*LineError); ok {
		le.Msg = strings.NewReplacer(`"id"`, `"doc_id"`, `"text"`, `"doc_text"`).Replace(le.Msg)
	}
	return err
}

// ImportPairs imports a pairs file in one transaction, recording
// human_grade as judgments of the labeler named gradesAs. The file is
// streamed: memory does not grow with its size.
func ImportPairs(ctx context.Context, st *store.Store, path, gradesAs string, update bool) (*Summary, error) {
	if err := checkGradesLabeler(ctx, st, gradesAs); err != nil {
		return nil, err
	}
	scale := st.Scale()
	sum := newSummary(path)
	err := st.Load(ctx, func(l *store.Load) error {
		var labID int64
		return eachPair(path, func(r *pairRecord) error {
			if err := l.Tick(); err != nil {
				return err
			}
			if r.hasGrade {
				if err := scale.Check(r.grade); err != nil {
					return lineErr(path, r.line, "%v", err)
				}
			}
			o, err := l.PutQuery(&r.q, r.line, update)
			if err != nil {
				return loadErr(path, r.line, err, firstPairLine)
			}
			sum.count("queries", o)
			if o, err = l.PutDocument(&r.d, r.line, update); err != nil {
				return loadErr(path, r.line, err, firstPairLine)
			}
			sum.count("documents", o)
			if r.hasGrade && labID == 0 {
				lab, err := gradesLabeler(l.Ctx(), l.Store(), gradesAs)
				if err != nil {
					return err
				}
				labID = lab.ID
			}
			p := store.PairGrade{Pair: store.Pair{QueryID: r.q.ID, DocID: r.d.ID, Source: store.SourceImported},
				QueryExtID: r.q.ExtID, DocExtID: r.d.ExtID, Grade: r.grade, HasGrade: r.hasGrade}
			po, jo, err := l.PutPair(&p, r.line, labID, update)
			if err != nil {
				return loadErr(path, r.line, err, firstPairLine)
			}
			sum.count("pairs", po)
			sum.count("judgments", jo)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// firstPairLine finds, for a record met again in a pairs file, the line
// where it first appeared (before line upTo): the file is read again rather
// than remembered, so that memory does not grow with the file.
func firstPairLine(path string, e *store.RepeatError, upTo int) int {
	return firstLine(func(fn func(*pairRecord) error) error { return eachPair(path, fn) }, upTo, func(r *pairRecord) (int, bool) {
		return r.line, (e.Kind == "query" && r.q.ExtID == e.ExtID) || (e.Kind == "document" && r.d.ExtID == e.ExtID) ||
			(e.Kind == "pair" && r.q.ExtID == e.ExtID && r.d.ExtID == e.Doc)
	})
}

// errStop ends a rescan early.
var errStop = errors.New("stop")

// loadErr places an error of a load at its line. A record met again with
// other content is told with the line of its first appearance, found with
// first when the load did not know it.
func loadErr(path string, line int, err error, first func(path string, e *store.RepeatError, upTo int) int) error {
	var re *store.RepeatError
	if errors.As(err, &re) && re.Line == 0 && line > 0 {
		re.Line = first(path, re, line)
	}
	return wrapAt(path, line, err)
}

// importedKind is the kind of a labeler first met in an import: grades
// filed under "human:NAME" are a person's, any other name an imported judge.
func importedKind(name string) string {
	if strings.HasPrefix(name, "human:") {
		return store.KindHuman
	}
	return store.KindImported
}

// checkGradesLabeler refuses, before a file is read, to file imported
// grades under a name that cannot take them (see gradesLabeler).
func checkGradesLabeler(ctx context.Context, st *store.Store, name string) error {
	if err := store.ValidateLabelerName(name); err != nil {
		return err
	}
	l, err := st.Labeler(ctx, name)
	if errors.Is(err, store.ErrNoLabeler) {
		return nil
	}
	if err != nil {
		return err
	}
	return importableKind(l)
}

// gradesLabeler returns the labeler imported grades are filed under,
// creating it when new. Grades of built-in, model and student labelers come
// only from `qrelbench label`, which records how each was produced; filing
// another judge's grades under their names would silently mix the two, so it
// is refused.
func gradesLabeler(ctx context.Context, tx *store.Store, name string) (store.Labeler, error) {
	l, err := tx.EnsureLabeler(ctx, name, importedKind(name))
	if err != nil {
		return l, err
	}
	return l, importableKind(l)
}

func importableKind(l store.Labeler) error {
	var what string
	switch l.Kind {
	case store.KindHuman, store.KindImported:
		return nil
	case store.KindBuiltin:
		what = "the built-in grader"
	case store.KindStudent:
		what = "a student model"
	default:
		what = "a model labeler"
	}
	return fmt.Errorf("labeler %s is %s: its grades come only from `qrelbench label --labeler %s`; import these grades under another name (a new name is created as an imported judge, human:NAME as a person)",
		quote.Input(l.Name), what, l.Name)
}
