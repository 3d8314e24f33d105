package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// runLine is one line of a TREC run: "qid Q0 docid rank score tag".
type runLine struct {
	line       int
	query, doc string
	rank       int
	score      float64
	system     string // the tag, or the --system name
}

// RunOptions control a run import.
type RunOptions struct {
	System      string // file every line under this system name, whatever its tag
	SkipUnknown bool   // drop lines whose query or document is not in the workspace
	Replace     bool   // replace the results of a stored system whose results differ
}

// ReadRun reads a TREC run file. Each line's tag names its system unless
// system is set. A document twice in one query of one system is an error
// naming both lines.
func ReadRun(path, system string) ([]runLine, error) {
	if system != "" {
		if err := store.ValidateSystemName(system); err != nil {
			return nil, fmt.Errorf("--system: %w", err)
		}
	}
	var out []runLine
	type key struct{ system, query, doc string }
	seen := map[key]int{}
	err := eachFileLine(path, func(n int, line []byte) error {
		s := strings.TrimSpace(string(line))
		if strings.HasPrefix(s, "#") {
			return nil
		}
		f := strings.Fields(s)
		if len(f) != 6 {
			return lineErr(path, n, "expected 6 fields \"qid Q0 docid rank score tag\", got %d", len(f))
		}
		r := runLine{line: n, query: f[0], doc: f[2], system: system}
		for _, id := range []string{r.query, r.doc} {
			if err := store.CheckID(id); err != nil {
				return lineErr(path, n, "%v", err)
			}
		}
		var err error
		if r.rank, err = strconv.Atoi(f[3]); err != nil {
			return lineErr(path, n, "rank %s is not an integer", quote.Input(f[3]))
		}
		if r.score, err = strconv.ParseFloat(f[4], 64); err != nil {
			return lineErr(path, n, "score %s is not a number", quote.Input(f[4]))
		}
		if math.IsNaN(r.score) || math.IsInf(r.score, 0) {
			return lineErr(path, n, "score %s is not a finite number", quote.Input(f[4]))
		}
		if system == "" {
			if err := store.ValidateSystemName(f[5]); err != nil {
				return lineErr(path, n, "tag: %v", err)
			}
			r.system = f[5]
		}
		k := key{r.system, r.query, r.doc}
		if first, ok := seen[k]; ok {
			return lineErr(path, n, "document %s appears twice for query %s in system %s (first at line %d)",
				quote.Input(r.doc), quote.Input(r.query), quote.Input(r.system), first)
		}
		seen[k] = n
		out = append(out, r)
		return nil
	})
	return out, err
}

// ImportRun records the systems of a TREC run file and their ranked lists
// in one transaction. Unknown query or document ids are an error (one,
// saying how many and showing the first few) unless opt.SkipUnknown. A
// system already stored with the same results is left alone; with other
// results it is refused unless opt.Replace.
func ImportRun(ctx context.Context, st *store.Store, path string, opt RunOptions) (*Summary, error) {
	lines, err := ReadRun(path, opt.System)
	if err != nil {
		return nil, err
	}
	fileHash, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	known, err := loadKnownIDs(ctx, st)
	if err != nil {
		return nil, err
	}
	bySystem := map[string][]runLine{}
	var order []string // systems in the order the file first names them
	for _, r := range lines {
		if _, _, ok, _ := known.resolve(r.line, r.query, r.doc); !ok {
			continue
		}
		if _, ok := bySystem[r.system]; !ok {
			order = append(order, r.system)
		}
		bySystem[r.system] = append(bySystem[r.system], r)
	}
	if err := known.err(path, opt.SkipUnknown); err != nil {
		return nil, err
	}
	sum := newSummary(path)
	sum.Skipped = known.lines
	if len(order) == 0 && len(lines) > 0 {
		return nil, fmt.Errorf("%s: every line names an unknown query or document: nothing to import", quote.Path(path))
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		for _, name := range order {
			rs := bySystem[name]
			results := make([]store.SystemResult, len(rs))
			for i, r := range rs {
				results[i] = store.SystemResult{QueryID: known.queries[r.query], DocID: known.docs[r.doc], Score: r.score, Rank: r.rank}
			}
			sys := store.System{Name: name, SourceFile: path, SourceSHA256: fileHash, ContentSHA256: contentHash(rs)}
			o, err := tx.PutSystem(ctx, &sys, results, opt.Replace)
			if err != nil {
				return wrapAt(path, rs[0].line, err)
			}
			sum.count("systems", o)
			sum.add("results", o, len(rs))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

// contentHash hashes a system's results independently of line order and of
// the file around them: sorted (query, document, score, rank) lines.
func contentHash(rs []runLine) string {
	keys := make([]string, len(rs))
	for i, r := range rs {
		keys[i] = r.query + "\t" + r.doc + "\t" + strconv.FormatFloat(r.score, 'g', -1, 64) + "\t" + strconv.Itoa(r.rank) + "\n"
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		io.WriteString(h, k)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA256(path string) (string, error) {
	f, err := openFile(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
