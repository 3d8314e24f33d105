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

// eachQrel streams TREC qrels: "qid iter docid grade" per line.
func eachQrel(path string, fn func(r *qrel) error) error {
	return eachFileLine(path, func(n int, line []byte) error {
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
		return fn(&qrel{line: n, query: fields[0], doc: fields[2], grade: g})
	})
}

// QrelsOptions control a qrels import.
type QrelsOptions struct {
	Labeler     string
	SkipUnknown bool // drop lines whose query or document is not in the workspace
	Update      bool // replace a different stored grade
}

// ImportQrels records a qrels file as the labeler's judgments in one
// transaction, streaming it. The labeler is created as kind imported when
// new (human when its name starts with "human:"). Lines naming a query or
// document the workspace does not have are an error (all of them counted,
// the first five named) unless SkipUnknown.
func ImportQrels(ctx context.Context, st *store.Store, path string, opt QrelsOptions) (*Summary, error) {
	if err := checkGradesLabeler(ctx, st, opt.Labeler); err != nil {
		return nil, err
	}
	scale := st.Scale()
	sum := newSummary(path)
	var known *knownIDs
	err := st.Load(ctx, func(l *store.Load) error {
		known = loadIDs(l)
		lab, err := gradesLabeler(l.Ctx(), l.Store(), opt.Labeler)
		if err != nil {
			return err
		}
		err = eachQrel(path, func(r *qrel) error {
			if err := l.Tick(); err != nil {
				return err
			}
			if err := scale.Check(r.grade); err != nil {
				return lineErr(path, r.line, "%v", err)
			}
			qid, did, ok, err := known.resolve(r.line, r.query, r.doc)
			if err != nil {
				return wrapAt(path, r.line, err)
			}
			if !ok {
				return nil
			}
			if known.lines > 0 && !opt.SkipUnknown {
				return nil // the import fails: only count the unknown lines
			}
			p := store.PairGrade{Pair: store.Pair{QueryID: qid, DocID: did, Source: store.SourceImported},
				QueryExtID: r.query, DocExtID: r.doc, Grade: r.grade, HasGrade: true}
			po, jo, err := l.PutPair(&p, r.line, lab.ID, opt.Update)
			if err != nil {
				return loadErr(path, r.line, err, firstQrelLine)
			}
			sum.count("pairs", po)
			sum.count("judgments", jo)
			return nil
		})
		if err == nil {
			err = known.err(path, opt.SkipUnknown)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	sum.Skipped = known.lines
	return sum, nil
}

// firstQrelLine finds the line where a pair met again first appeared.
func firstQrelLine(path string, e *store.RepeatError, upTo int) int {
	return firstLine(func(fn func(*qrel) error) error { return eachQrel(path, fn) }, upTo, func(r *qrel) (int, bool) {
		return r.line, r.query == e.ExtID && r.doc == e.Doc
	})
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
