package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Load is one streaming, all-or-nothing bulk load (an import): every record
// goes into one immediate transaction, so a failure anywhere keeps nothing,
// while the records themselves are never held in memory. Repeats within
// the load are found in the database, not in maps of the file:
//
//   - a record this load inserted has an id above the table's maximum
//     before the load began, so a repeat of it is recognised by its id;
//   - a record that was already stored is noted, the first time the load
//     meets it, in a scratch table of a scratch database attached for the
//     load (on disk beside the workspace, not in memory), with its line and,
//     for a pair, the grade it came with.
//
// Statements run with a context that cannot be cancelled, which keeps the
// driver from watching each one in its own goroutine; Tick checks the
// caller's context between records, so Ctrl-C still ends the load (and
// rolls it back) within a record.
type Load struct {
	tx     *Store          // bound to the load's transaction
	ctx    context.Context // for statements: never cancelled
	caller context.Context // checked by Tick
	at     string          // created_at of every record of the load
	before struct{ query, doc, pair int64 }
	n      int

	lastQuery Query // the previous query put, to skip the database for the next row of the same query

	// New pairs of documents the load has just inserted cannot exist yet:
	// they are written in batches of multi-row INSERTs (pair, judgment,
	// history), their ids known in advance because nothing else writes
	// while the load holds the write lock. freshDoc is the document the
	// last PutDocument inserted (0 when it inserted none).
	freshDoc int64
	nextPair int64 // the id the next inserted pair gets

	// Documents are indexed a chunk at a time, while their pages are still
	// in SQLite's cache: indexedDoc is the last one indexed; unindexed and
	// unindexedBytes count those inserted since, and their text.
	indexedDoc     int64
	unindexed      int
	unindexedBytes int
	batch          []batchedPair
	batchKey       struct {
		source  string
		run     int64
		labeler int64
	}
}

type batchedPair struct {
	query, doc int64
	grade      int
	hasGrade   bool
}

// pairBatch is how many new pairs go into one multi-row INSERT.
const pairBatch = 128

// indexChunk is how much new text (titles and bodies) one statement
// indexes, and indexHashSize the FTS5 hashsize (bytes of terms it gathers
// in memory before writing a segment; FTS5's default is 1 MiB) while a load
// runs. Every statement of a write transaction makes FTS5 write what it
// has gathered, so a chunk is at least one segment, and each segment is
// merged into larger ones later: chunks of 8 MiB of text gathered whole
// write a few large segments rather than many small ones. Measured (CPU
// time, best of 4, 100k documents): 1.90 s with chunks of 8192 documents
// and the default hashsize, 1.47 s with these; 1M documents 23.4 s and
// 17.7 s (the sqlite3 CLI loading the same file: 1.60 s and 19.5 s). The
// cost is up to indexHashSize more memory during a load.
const (
	indexChunk    = 8 << 20
	indexHashSize = 16 << 20
	ftsHashSize   = 1 << 20 // FTS5's default hashsize
)

// indexDocuments adds the documents inserted since the last call to the
// full-text index, in one statement.
func (l *Load) indexDocuments() error {
	if l.unindexed == 0 {
		return nil
	}
	if _, err := l.tx.exec(l.ctx, `INSERT INTO documents_fts(rowid, title, body) SELECT id, title, body FROM documents WHERE id > ? ORDER BY id`, l.indexedDoc); err != nil {
		return err
	}
	var last int64
	if err := l.tx.queryRow(l.ctx, `SELECT max(id) FROM documents`).Scan(&last); err != nil {
		return err
	}
	l.indexedDoc, l.unindexed, l.unindexedBytes = last, 0, 0
	return nil
}

// RepeatError is a record that appears again in one load with different
// content. Line is the line of its first appearance when the load knows it
// (a record stored before the load), 0 when the caller must find it.
type RepeatError struct {
	Kind  string // "query", "document" or "pair"
	ExtID string // the query or document id; for a pair, the query's
	Doc   string // for a pair, the document's id
	What  string // what differs: "text", "title", "metadata", "grade"
	Line  int
}

func (e *RepeatError) Error() string {
	where := ""
	if e.Line > 0 {
		where = fmt.Sprintf(" (first at line %d)", e.Line)
	}
	if e.Kind == "pair" {
		return fmt.Sprintf("pair (%s, %s) appears again with a different %s%s", quote.Input(e.ExtID), quote.Input(e.Doc), e.What, where)
	}
	return fmt.Sprintf("%s %s appears again with a different %s%s", e.Kind, quote.Input(e.ExtID), e.What, where)
}

// Repeat is the Outcome of a record met again in the same load with the
// same content: it is counted once, the first time.
const Repeat Outcome = -1

// Load runs fn as one bulk load. See Load (the type).
func (s *Store) Load(ctx context.Context, fn func(l *Load) error) (err error) {
	if s.inTx {
		return errors.New("store: a load cannot run inside a transaction")
	}
	// SQLite allocates with the C allocator, and glibc's gives each thread
	// that calls it an arena of its own (up to 8 per core), each keeping
	// what was freed in it: a load whose statements ran on whichever thread
	// the goroutine happened to be on spread its page cache, statement
	// journals and FTS5 buffers over a dozen arenas, and its peak RSS grew
	// with the file (196 MB at 1M pairs, 118 MB with one arena). Every
	// statement of the load runs on this goroutine (its context is never
	// cancelled, so neither database/sql nor the driver starts another), so
	// keeping it on one thread keeps the load in one arena.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	calm := context.WithoutCancel(ctx)
	conn, err := s.db.Conn(calm)
	if err != nil {
		return Blame(s.path, err)
	}
	defer conn.Close()
	// Temporary storage is a file: a statement's journal (what it changed,
	// to undo it alone) spills to a temporary file past 64 KiB. In memory,
	// the journal of a statement that indexes a chunk of documents (FTS5
	// merging segments as it goes) held up to 25 MB more at 1M pairs, and
	// merges grow with the index; on file it costs no measurable CPU time
	// (3.4 s for 100k pairs either way) and SQLite's memory stays at its
	// page cache.
	scratch, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".load-*")
	if err != nil { // a folder SQLite may write through existing -wal and -shm files only
		if scratch, err = os.CreateTemp("", "qrelbench-load-*"); err != nil {
			return fmt.Errorf("scratch file for the import: %w", err)
		}
	}
	scratch.Close()
	defer os.Remove(scratch.Name())
	for _, q := range []string{
		`PRAGMA temp_store = FILE`,
		`ATTACH DATABASE ` + sqlString(fileURI(scratch.Name())) + ` AS load_scratch`,
		`PRAGMA load_scratch.journal_mode = OFF`,
		`PRAGMA load_scratch.synchronous = OFF`,
		`PRAGMA load_scratch.cache_size = -8192`,
		`CREATE TABLE load_scratch.seen(kind INTEGER NOT NULL, id INTEGER NOT NULL, line INTEGER NOT NULL, grade INTEGER, PRIMARY KEY (kind, id)) WITHOUT ROWID`,
	} {
		if _, err := conn.ExecContext(calm, q); err != nil {
			return Blame(s.path, err)
		}
	}
	defer func() {
		conn.ExecContext(calm, `DETACH DATABASE load_scratch`)
		conn.ExecContext(calm, `PRAGMA temp_store = DEFAULT`)
	}()
	defer s.gate.enter(s.background)()
	tx, err := conn.BeginTx(calm, nil)
	if err != nil {
		return Blame(s.path, err)
	}
	ts, done := s.bound(tx)
	defer done()
	// The load's statements name its attached scratch database, which only
	// this connection has: prepare them here, not through the pool's cache.
	ts.prep = nil
	l := &Load{tx: ts, ctx: calm, caller: ctx, at: now()}
	for _, m := range []struct {
		table string
		dst   *int64
	}{{"queries", &l.before.query}, {"documents", &l.before.doc}, {"pairs", &l.before.pair}} {
		if err := tx.QueryRowContext(calm, `SELECT COALESCE(max(id), 0) FROM `+m.table).Scan(m.dst); err != nil {
			tx.Rollback()
			return Blame(s.path, err)
		}
	}
	// The index triggers stand aside while bulk_load holds a row (see
	// migration 0009); what the load added is indexed at its end, in one
	// statement per index.
	if _, err := tx.ExecContext(calm, `INSERT INTO bulk_load(active) VALUES (1)`); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	// The workspace's own hashsize (FTS5's default unless someone set one)
	// comes back before the commit: the larger one is only for the load.
	hashSize := int64(ftsHashSize)
	if err := tx.QueryRowContext(calm, `SELECT v FROM documents_fts_config WHERE k = 'hashsize'`).Scan(&hashSize); err != nil && !errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if _, err := tx.ExecContext(calm, `INSERT INTO documents_fts(documents_fts, rank) VALUES ('hashsize', ?)`, indexHashSize); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	l.nextPair = l.before.pair + 1
	l.indexedDoc = l.before.doc
	if err := fn(l); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if err := l.flush(); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	if err := l.indexDocuments(); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if _, err := tx.ExecContext(calm, `INSERT INTO queries_fts(rowid, text) SELECT id, text FROM queries WHERE id > ? ORDER BY id`, l.before.query); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if _, err := tx.ExecContext(calm, `INSERT INTO documents_fts(documents_fts, rank) VALUES ('hashsize', ?)`, hashSize); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if _, err := tx.ExecContext(calm, `DELETE FROM bulk_load`); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	if err := ctx.Err(); err != nil {
		tx.Rollback()
		return err
	}
	return Blame(s.path, tx.Commit())
}

func sqlString(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// Store is the workspace bound to the load's transaction, for anything the
// load does besides its records (a labeler, a run).
func (l *Load) Store() *Store { return l.tx }

// Ctx is the context for statements of the load: it is never cancelled
// (see Tick).
func (l *Load) Ctx() context.Context { return l.ctx }

// Tick is called once per record: it returns the caller's context error
// once it is cancelled, checking every 64 records.
func (l *Load) Tick() error {
	l.n++
	if l.n&63 == 0 {
		return l.caller.Err()
	}
	return nil
}

const (
	seenQuery = 1
	seenDoc   = 2
	seenPair  = 3
)

// seen notes a record stored before the load the first time the load meets
// it; it reports whether it was met already, with the line and grade noted
// then.
func (l *Load) seen(kind int, id int64, line int, grade int, hasGrade bool) (before bool, firstLine int, firstGrade sql.NullInt64, err error) {
	var g any
	if hasGrade {
		g = grade
	}
	res, err := l.tx.exec(l.ctx, `INSERT INTO load_scratch.seen(kind, id, line, grade) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, kind, id, line, g)
	if err != nil {
		return false, 0, firstGrade, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return false, 0, firstGrade, nil
	}
	err = l.tx.queryRow(l.ctx, `SELECT line, grade FROM load_scratch.seen WHERE kind = ? AND id = ?`, kind, id).Scan(&firstLine, &firstGrade)
	return true, firstLine, firstGrade, err
}

// PutQuery puts a query of the load, met at line: Inserted, Updated (when
// update is set), Unchanged for a stored query met the first time, Repeat
// for one met again with the same text. A stored query with another text
// is an ErrConflict unless update; a query met again in the load with
// another text is a *RepeatError.
func (l *Load) PutQuery(q *Query, line int, update bool) (Outcome, error) {
	if q.ExtID == l.lastQuery.ExtID && q.Text == l.lastQuery.Text && l.lastQuery.ID != 0 {
		q.ID = l.lastQuery.ID
		return Repeat, nil
	}
	if err := CheckID(q.ExtID); err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	if q.Origin == "" {
		q.Origin = OriginImported
	}
	res, err := l.tx.exec(l.ctx, `INSERT INTO queries(ext_id, text, origin, seed_doc_id, generator, style, run_id, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(ext_id) DO NOTHING`,
		q.ExtID, q.Text, q.Origin, nullID(q.SeedDocID), q.Generator, q.Style, nullID(q.RunID), l.at)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		q.ID, err = res.LastInsertId()
		l.lastQuery = *q
		return Inserted, err
	}
	var text string
	if err := l.tx.queryRow(l.ctx, `SELECT id, text FROM queries WHERE ext_id = ?`, q.ExtID).Scan(&q.ID, &text); err != nil {
		return 0, err
	}
	o, err := l.settle(seenQuery, q.ID, l.before.query, line, text == q.Text, "text", q.ExtID, update, func() error {
		return fmt.Errorf("query %s: different text than the stored query (%s): %w (use --update to replace it)", quote.Input(q.ExtID), quote.Input(text), ErrConflict)
	}, func() error {
		_, err := l.tx.exec(l.ctx, `UPDATE queries SET text = ? WHERE id = ?`, q.Text, q.ID)
		return err
	})
	if err == nil {
		l.lastQuery = *q
	}
	return o, err
}

// settle decides what a record found stored means: met again in this load
// (same content: Repeat; else a RepeatError), or stored before and met the
// first time (Unchanged, a conflict, or Updated by calling apply).
func (l *Load) settle(kind int, id, before int64, line int, same bool, what, ext string, update bool, conflict, apply func() error) (Outcome, error) {
	kinds := map[int]string{seenQuery: "query", seenDoc: "document"}
	if id > before { // inserted by this load
		if same {
			return Repeat, nil
		}
		return 0, &RepeatError{Kind: kinds[kind], ExtID: ext, What: what}
	}
	again, first, _, err := l.seen(kind, id, line, 0, false)
	switch {
	case err != nil:
		return 0, err
	case again && same:
		return Repeat, nil
	case again:
		return 0, &RepeatError{Kind: kinds[kind], ExtID: ext, What: what, Line: first}
	case same:
		return Unchanged, nil
	case !update:
		return 0, conflict()
	}
	return Updated, apply()
}

// PutDocument puts a document of the load, met at line; outcomes as for
// PutQuery.
func (l *Load) PutDocument(d *Document, line int, update bool) (Outcome, error) {
	if err := CheckID(d.ExtID); err != nil {
		return 0, fmt.Errorf("document: %w", err)
	}
	meta, err := encodeMeta(d.Meta)
	if err != nil {
		return 0, fmt.Errorf("document %s: metadata: %w", quote.Input(d.ExtID), err)
	}
	l.freshDoc = 0
	res, err := l.tx.exec(l.ctx, `INSERT INTO documents(ext_id, title, body, url, author, modified, type, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(ext_id) DO NOTHING`,
		d.ExtID, d.Title, d.Body, d.URL, d.Author, formatTime(d.Modified), d.Type, meta, l.at)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if d.ID, err = res.LastInsertId(); err != nil {
			return 0, err
		}
		l.freshDoc = d.ID
		l.unindexed++
		if l.unindexedBytes += len(d.Title) + len(d.Body); l.unindexedBytes >= indexChunk {
			return Inserted, l.indexDocuments()
		}
		return Inserted, nil
	}
	var old Document
	var oldMod, oldMeta string
	if err := l.tx.queryRow(l.ctx, `SELECT id, title, body, url, author, modified, type, meta FROM documents WHERE ext_id = ?`, d.ExtID).
		Scan(&old.ID, &old.Title, &old.Body, &old.URL, &old.Author, &oldMod, &old.Type, &oldMeta); err != nil {
		return 0, err
	}
	d.ID = old.ID
	what := docDifference(old, oldMod, oldMeta, d, meta)
	return l.settle(seenDoc, d.ID, l.before.doc, line, what == "", what, d.ExtID, update,
		func() error { return docConflict(d.ExtID, what) },
		func() error { return l.tx.updateDocument(l.ctx, d, meta) })
}

// PairGrade is a pair of the load with the grade it came with, if any.
type PairGrade struct {
	Pair
	QueryExtID, DocExtID string // for messages
	Grade                int
	HasGrade             bool
}

// PutPair puts a pair of the load, met at line, and its grade as a
// judgment of labelerID (0: the load files no grades). Outcomes of the pair
// and of its judgment as for PutQuery; a pair met again with a different
// grade (or a grade where it had none) is a *RepeatError, a stored
// different grade a conflict unless update.
func (l *Load) PutPair(p *PairGrade, line int, labelerID int64, update bool) (pair, judgment Outcome, err error) {
	if p.HasGrade && labelerID != 0 {
		if err := l.tx.scale.Check(p.Grade); err != nil {
			return 0, 0, err
		}
	}
	if p.DocID != 0 && p.DocID == l.freshDoc {
		l.freshDoc = 0
		return l.batchPair(p, labelerID)
	}
	if err := l.flush(); err != nil { // what follows reads and writes pairs one by one
		return 0, 0, err
	}
	res, err := l.tx.exec(l.ctx, `INSERT INTO pairs(query_id, doc_id, source, run_id, created_at) VALUES (?,?,?,?,?) ON CONFLICT(query_id, doc_id) DO NOTHING`,
		p.QueryID, p.DocID, p.Source, nullID(p.RunID), l.at)
	if err != nil {
		return 0, 0, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if p.ID, err = res.LastInsertId(); err != nil {
			return 0, 0, err
		}
		l.nextPair = p.ID + 1
		if !p.HasGrade || labelerID == 0 {
			return Inserted, Repeat, nil
		}
		return Inserted, Inserted, l.insertGrade(p.ID, labelerID, p.Grade)
	}
	if err := l.tx.queryRow(l.ctx, `SELECT id FROM pairs WHERE query_id = ? AND doc_id = ?`, p.QueryID, p.DocID).Scan(&p.ID); err != nil {
		return 0, 0, err
	}
	repeat := func(line int) error {
		return &RepeatError{Kind: "pair", ExtID: p.QueryExtID, Doc: p.DocExtID, What: "grade", Line: line}
	}
	var cur sql.NullInt64
	if labelerID != 0 {
		err := l.tx.queryRow(l.ctx, `SELECT CASE WHEN status = 'ok' THEN grade END FROM judgments WHERE pair_id = ? AND labeler_id = ?`, p.ID, labelerID).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, 0, err
		}
	}
	if p.ID > l.before.pair { // inserted by this load: what is stored is what it first came with
		if cur.Valid != p.HasGrade || (p.HasGrade && int(cur.Int64) != p.Grade) {
			return 0, 0, repeat(0)
		}
		return Repeat, Repeat, nil
	}
	again, first, firstGrade, err := l.seen(seenPair, p.ID, line, p.Grade, p.HasGrade)
	if err != nil {
		return 0, 0, err
	}
	if again {
		if firstGrade.Valid != p.HasGrade || (p.HasGrade && int(firstGrade.Int64) != p.Grade) {
			return 0, 0, repeat(first)
		}
		return Repeat, Repeat, nil
	}
	if !p.HasGrade || labelerID == 0 {
		return Unchanged, Repeat, nil
	}
	if cur.Valid && int(cur.Int64) == p.Grade {
		return Unchanged, Unchanged, nil
	}
	var had bool
	if err := l.tx.queryRow(l.ctx, `SELECT count(*) > 0 FROM judgments WHERE pair_id = ? AND labeler_id = ?`, p.ID, labelerID).Scan(&had); err != nil {
		return 0, 0, err
	}
	if had && !update {
		stored := "the stored judgment, which has no grade (failed or unsure)"
		if cur.Valid {
			stored = "the stored grade " + strconv.FormatInt(cur.Int64, 10)
		}
		return 0, 0, ConflictError("grade %d differs from %s", p.Grade, stored)
	}
	if had {
		return Unchanged, Updated, l.tx.putJudgment(l.ctx, &Judgment{PairID: p.ID, LabelerID: labelerID, Grade: p.Grade, Status: StatusOK})
	}
	return Unchanged, Inserted, l.insertGrade(p.ID, labelerID, p.Grade)
}

// batchPair adds a pair that cannot exist yet (its document was just
// inserted) to the batch of new pairs, giving it the id it will have.
func (l *Load) batchPair(p *PairGrade, labelerID int64) (Outcome, Outcome, error) {
	if !p.HasGrade {
		labelerID = 0
	}
	key := l.batchKey
	key.source, key.run = p.Source, p.RunID
	if labelerID != 0 {
		key.labeler = labelerID
	}
	if len(l.batch) > 0 && key != l.batchKey {
		if err := l.flush(); err != nil {
			return 0, 0, err
		}
	}
	l.batchKey = key
	p.ID = l.nextPair + int64(len(l.batch))
	l.batch = append(l.batch, batchedPair{query: p.QueryID, doc: p.DocID, grade: p.Grade, hasGrade: labelerID != 0})
	if len(l.batch) == pairBatch {
		if err := l.flush(); err != nil {
			return 0, 0, err
		}
	}
	if labelerID == 0 {
		return Inserted, Repeat, nil
	}
	return Inserted, Inserted, nil
}

// flush writes the batch of new pairs, their judgments and history rows,
// one multi-row INSERT each, and checks the pairs got the ids promised.
func (l *Load) flush() error {
	n := len(l.batch)
	if n == 0 {
		return nil
	}
	args := make([]any, 0, 5*n)
	for _, b := range l.batch {
		args = append(args, b.query, b.doc, l.batchKey.source, nullID(l.batchKey.run), l.at)
	}
	res, err := l.tx.exec(l.ctx, `INSERT INTO pairs(query_id, doc_id, source, run_id, created_at) VALUES `+rowsOf(n, "(?,?,?,?,?)"), args...)
	if err != nil {
		return err
	}
	last, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if rows, _ := res.RowsAffected(); rows != int64(n) || last != l.nextPair+int64(n)-1 {
		return fmt.Errorf("store: %d new pairs got ids up to %d, not %d..%d", rows, last, l.nextPair, l.nextPair+int64(n)-1)
	}
	args, graded := args[:0], 0
	for i, b := range l.batch {
		if b.hasGrade {
			args = append(args, l.nextPair+int64(i), l.batchKey.labeler, b.grade, l.at, l.at)
			graded++
		}
	}
	if graded > 0 {
		if _, err := l.tx.exec(l.ctx, `INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) VALUES `+rowsOf(graded, "(?,?,?,'ok',?,?)"), args...); err != nil {
			return err
		}
		hist := args[:0]
		for i, b := range l.batch {
			if b.hasGrade {
				hist = append(hist, l.nextPair+int64(i), l.batchKey.labeler, b.grade, l.at)
			}
		}
		if _, err := l.tx.exec(l.ctx, `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, at) VALUES `+rowsOf(graded, "(?,?,'set',?,'ok',?)"), hist...); err != nil {
			return err
		}
	}
	l.nextPair += int64(n)
	l.batch = l.batch[:0]
	return nil
}

// rowsOf is n copies of a VALUES row, comma-separated.
func rowsOf(n int, row string) string {
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// insertGrade records a new ok judgment and its history row.
func (l *Load) insertGrade(pairID, labelerID int64, grade int) error {
	if _, err := l.tx.exec(l.ctx, `INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) VALUES (?,?,?,'ok',?,?)`,
		pairID, labelerID, grade, l.at, l.at); err != nil {
		return err
	}
	_, err := l.tx.exec(l.ctx, `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, at) VALUES (?,?,'set',?,'ok',?)`,
		pairID, labelerID, grade, l.at)
	return err
}

// QueryID returns the internal id of a stored query, ok=false when there
// is none.
func (l *Load) QueryID(ext string) (int64, bool, error) {
	if ext == l.lastQuery.ExtID && l.lastQuery.ID != 0 {
		return l.lastQuery.ID, true, nil
	}
	var id int64
	err := l.tx.queryRow(l.ctx, `SELECT id FROM queries WHERE ext_id = ?`, ext).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err == nil {
		l.lastQuery = Query{ID: id, ExtID: ext}
	}
	return id, err == nil, err
}

// DocumentID returns the internal id of a stored document, ok=false when
// there is none.
func (l *Load) DocumentID(ext string) (int64, bool, error) {
	var id int64
	err := l.tx.queryRow(l.ctx, `SELECT id FROM documents WHERE ext_id = ?`, ext).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}
