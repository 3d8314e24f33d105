package ingest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

type qrel struct {
	line       int
	query, doc string
	grade      int
}

// ReadQrels reads TREC qrels: "qid iter docid grade" per line.
func ReadQrels(path string) ([]qrel, error) {
	var out []qrel
	err := eachFileLine(path, func(n int, line []byte) error {
		s := strings.TrimSpace(string(line))
		if strings.HasPrefix(s, "#") {
			return nil
		}
		fields := strings.Fields(s)
		if len(fields) != 4 {
			return lineErr(path, n, "expected 4 fields \"qid iter docid grade\", got %d", len(fields))
		}
		g, err := strconv.Atoi(fields[3])
		if err != nil {
			return lineErr(path, n, "grade %s is not an integer", quote.Input(fields[3]))
		}
		for _, id := range []string{fields[0], fields[2]} {
			if err := store.CheckID(id); err != nil {
				return lineErr(path, n, "%v", err)
			}
		}
		out = append(out, qrel{line: n, query: fields[0], doc: fields[2], grade: g})
		return nil
	})
	return out, err
}

// QrelsOptions control a qrels import.
type QrelsOptions struct {
	Labeler     string
	SkipUnknown bool // drop lines whose query or document is not in the workspace
	Update      bool // replace a different stored grade
}

// ImportQrels records a qrels file as the labeler's judgments in one
// transaction. The labeler is created as kind imported when new (human when
// its name starts with "human:").
func ImportQrels(ctx context.Context, st *store.Store, path string, opt QrelsOptions) (*Summary, error) {
	if err := checkGradesLabeler(ctx, st, opt.Labeler); err != nil {
		return nil, err
	}
	recs, err := ReadQrels(path)
	if err != nil {
		return nil, err
	}
	scale := st.Scale()
	for _, r := range recs {
		if err := scale.Check(r.grade); err != nil {
			return nil, lineErr(path, r.line, "%v", err)
		}
	}
	known, err := loadKnownIDs(ctx, st)
	if err != nil {
		return nil, err
	}
	kept := recs[:0:0]
	seen := map[store.PairKey]qrel{}
	for _, r := range recs {
		if _, _, ok := known.resolve(r.line, r.query, r.doc); !ok {
			continue
		}
		k := store.PairKey{Query: r.query, Doc: r.doc}
		if prev, ok := seen[k]; ok {
			if prev.grade != r.grade {
				return nil, lineErr(path, r.line, "pair (%s, %s) appears again with grade %d (grade %d at line %d)", quote.Input(r.query), quote.Input(r.doc), r.grade, prev.grade, prev.line)
			}
			continue
		}
		seen[k] = r
		kept = append(kept, r)
	}
	if err := known.err(path, opt.SkipUnknown); err != nil {
		return nil, err
	}
	sum := newSummary(path)
	sum.Skipped = known.lines
	err = st.Tx(ctx, func(tx *store.Store) error {
		lab, err := gradesLabeler(ctx, tx, opt.Labeler)
		if err != nil {
			return err
		}
		for _, r := range kept {
			p := store.Pair{QueryID: known.queries[r.query], DocID: known.docs[r.doc], Source: store.SourceImported}
			o, err := tx.PutPair(ctx, &p)
			if err != nil {
				return wrapAt(path, r.line, err)
			}
			sum.count("pairs", o)
			o, err = putImportedGrade(ctx, tx, p.ID, lab.ID, r.grade, opt.Update)
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

// ExportQrels writes the labeler's current grades as TREC qrels, one line
// per graded pair, sorted by query then document: "qid 0 docid grade".
func ExportQrels(ctx context.Context, st *store.Store, labeler string, w io.Writer) (int, error) {
	lab, err := st.Labeler(ctx, labeler)
	if err != nil {
		return 0, err
	}
	grades, err := st.Grades(ctx, lab.ID)
	if err != nil {
		return 0, err
	}
	for _, g := range grades { // before writing anything, even to stdout
		if err := exportableIDs(g.Query, g.Doc); err != nil {
			return 0, err
		}
	}
	bw := bufio.NewWriter(w)
	for _, g := range grades {
		fmt.Fprintf(bw, "%s 0 %s %d\n", g.Query, g.Doc, g.Grade)
	}
	return len(grades), bw.Flush()
}

// exportableIDs refuses to write an id that import would refuse (one stored
// by an older qrelbench, or by hand): an export must be readable by the
// tool that wrote it. The caller writes to a temporary file, so nothing is
// left behind.
func exportableIDs(query, doc string) error {
	if err := store.CheckID(query); err != nil {
		return fmt.Errorf("cannot export query %v; refusing to write a file that cannot be imported again (fix the id in the workspace)", err)
	}
	if err := store.CheckID(doc); err != nil {
		return fmt.Errorf("cannot export document %v; refusing to write a file that cannot be imported again (fix the id in the workspace)", err)
	}
	return nil
}
