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

// ReadPairs reads pairs JSONL as in ../shared/data: query_id, query_text,
// doc_id, doc_text, optional title/url/author/modified/type, optional
// human_grade; any other key is kept as document metadata.
func ReadPairs(path string) ([]pairRecord, error) {
	var out []pairRecord
	err := eachFileLine(path, func(n int, line []byte) error {
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
		// The document part reuses the document reader's rules.
		docObj := map[string]any{}
		for k, v := range obj {
			switch k {
			case "query_id", "query_text", "human_grade",
				// Fields `export pairs` adds: grades are not re-imported
				// (use export/import qrels per labeler), and they are not
				// document metadata either.
				"grades", "expected", "unsure", "failed", "notes", "source", "bm25_rank":
			case "doc_id":
				docObj["id"] = v
			case "doc_text":
				docObj["text"] = v
			default:
				docObj[k] = v
			}
		}
		if _, ok := docObj["id"]; !ok {
			return lineErr(path, n, "missing field \"doc_id\"")
		}
		if _, ok := docObj["text"]; !ok {
			return lineErr(path, n, "missing field \"doc_text\"")
		}
		if r.d, err = docFromFields(path, n, docObj); err != nil {
			return renameDocField(err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
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
// human_grade as judgments of the labeler named gradesAs.
func ImportPairs(ctx context.Context, st *store.Store, path, gradesAs string, update bool) (*Summary, error) {
	if err := checkGradesLabeler(ctx, st, gradesAs); err != nil {
		return nil, err
	}
	recs, err := ReadPairs(path)
	if err != nil {
		return nil, err
	}
	scale := st.Scale()
	for _, r := range recs {
		if r.hasGrade {
			if err := scale.Check(r.grade); err != nil {
				return nil, lineErr(path, r.line, "%v", err)
			}
		}
	}
	sum := newSummary(path)
	qLine, dLine := map[string]pairRecord{}, map[string]pairRecord{}
	seenPair := map[store.PairKey]int{}
	err = st.Tx(ctx, func(tx *store.Store) error {
		var lab store.Labeler
		for i := range recs {
			r := &recs[i]
			if prev, ok := qLine[r.q.ExtID]; ok {
				if prev.q.Text != r.q.Text {
					return lineErr(path, r.line, "query %s has a different text than at line %d", quote.Input(r.q.ExtID), prev.line)
				}
				r.q.ID = prev.q.ID
			} else {
				o, err := tx.PutQuery(ctx, &r.q, update)
				if err != nil {
					return wrapAt(path, r.line, err)
				}
				sum.count("queries", o)
				qLine[r.q.ExtID] = *r
			}
			if prev, ok := dLine[r.d.ExtID]; ok {
				if prev.d.Body != r.d.Body {
					return lineErr(path, r.line, "document %s has a different text than at line %d", quote.Input(r.d.ExtID), prev.line)
				}
				r.d.ID = prev.d.ID
			} else {
				o, err := tx.PutDocument(ctx, &r.d, update)
				if err != nil {
					return wrapAt(path, r.line, err)
				}
				sum.count("documents", o)
				dLine[r.d.ExtID] = *r
			}
			key := store.PairKey{Query: r.q.ExtID, Doc: r.d.ExtID}
			if first, ok := seenPair[key]; ok {
				if recs[first].hasGrade != r.hasGrade || recs[first].grade != r.grade {
					return lineErr(path, r.line, "pair (%s, %s) appears again with a different grade (first at line %d)", quote.Input(key.Query), quote.Input(key.Doc), recs[first].line)
				}
				continue
			}
			seenPair[key] = i
			p := store.Pair{QueryID: r.q.ID, DocID: r.d.ID, Source: store.SourceImported}
			o, err := tx.PutPair(ctx, &p)
			if err != nil {
				return wrapAt(path, r.line, err)
			}
			sum.count("pairs", o)
			if !r.hasGrade {
				continue
			}
			if lab.ID == 0 {
				if lab, err = gradesLabeler(ctx, tx, gradesAs); err != nil {
					return err
				}
			}
			o, err = putImportedGrade(ctx, tx, p.ID, lab.ID, r.grade, update)
			if err != nil {
				return wrapAt(path, r.line, err)
			}
			sum.count("judgments", o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
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

// putImportedGrade records an imported grade unless the labeler already has
// the same one; a different stored grade is a conflict unless update is set.
func putImportedGrade(ctx context.Context, tx *store.Store, pairID, labelerID int64, grade int, update bool) (store.Outcome, error) {
	cur, ok, err := tx.Judgment(ctx, pairID, labelerID)
	if err != nil {
		return 0, err
	}
	if ok && cur.Status == store.StatusOK && cur.Grade == grade {
		return store.Unchanged, nil
	}
	if ok && !update {
		return 0, store.ConflictError("grade %d differs from the stored grade %d", grade, cur.Grade)
	}
	j := store.Judgment{PairID: pairID, LabelerID: labelerID, Grade: grade, Status: store.StatusOK}
	if err := tx.PutJudgment(ctx, &j); err != nil {
		return 0, err
	}
	if ok {
		return store.Updated, nil
	}
	return store.Inserted, nil
}
