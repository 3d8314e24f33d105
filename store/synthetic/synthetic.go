// Package synthetic builds large workspaces for sizing a machine: a corpus
// of generated documents, queries paired with documents, and three
// labelers' grades, at the scale of millions of pairs. Workspaces are
// built once per set of parameters and cached; whoever measures on one
// must not change it (copy it first, see Scratch).
package synthetic

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

// version changes whenever what Build writes changes, so a cache of an
// older build is not taken for the current one. The schema version is part
// of the name too: opening a workspace of an older schema migrates it,
// which would change a cache that measurements must not change.
const version = "v1"

// Params size a workspace: Queries × PerQuery pairs over Docs documents.
type Params struct {
	Queries  int
	PerQuery int
	Docs     int
}

// Pairs is the number of pairs the workspace holds.
func (p Params) Pairs() int { return p.Queries * p.PerQuery }

func (p Params) name() string {
	return fmt.Sprintf("qrelbench-synthetic-%s-s%d-q%d-k%d-d%d.db", version, store.SchemaVersion(), p.Queries, p.PerQuery, p.Docs)
}

// EstimatedBytes is about how much disk the workspace takes (measured on the
// 1M-pair build: ~390 bytes per pair with its three grades, ~1 KB per
// document with its index).
func (p Params) EstimatedBytes() int64 {
	return int64(p.Pairs())*400 + int64(p.Docs)*1100
}

// Labelers are the labelers Build grades every pair with: a human
// reference, a student with expected grades, and a teacher.
var Labelers = []store.Labeler{
	{Name: "human:ref", Kind: store.KindHuman},
	{Name: "student", Kind: store.KindStudent, Role: "student"},
	{Name: "teacher", Kind: store.KindLLM, Role: "teacher", Model: "synthetic"},
}

// CacheDir is where workspaces are cached unless told otherwise: qrelbench
// in the user's cache folder, else in the temporary folder.
func CacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "qrelbench")
	}
	return os.TempDir()
}

// CachedPath is where Cached keeps the workspace for p in dir, and whether
// it is there (built): for measurements that must not build one.
func CachedPath(dir string, p Params) (string, bool) {
	path := filepath.Join(dir, p.name())
	_, err := os.Stat(path)
	return path, err == nil
}

// Cached returns the path of the workspace for p in dir, building it first
// when it is not there (progress, if not nil, hears what is going on).
func Cached(ctx context.Context, dir string, p Params, progress io.Writer) (string, error) {
	path, built := CachedPath(dir, p)
	if built {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".building"
	if err := store.RemoveFiles(tmp); err != nil {
		return "", err
	}
	if err := Build(ctx, tmp, p, progress); err != nil {
		store.RemoveFiles(tmp)
		return "", err
	}
	os.Remove(tmp + "-writers")
	return path, os.Rename(tmp, path)
}

// words is the generated corpus' vocabulary: Zipf-distributed, so that
// some query words match much of the corpus, as real ones do.
var words = strings.Fields(`account access admin alert analytics api approval archive audit backup badge billing
	board budget build calendar campaign certificate change chat client cloud cluster code compliance config
	contract cost customer dashboard data database deadline deploy design device discount docs domain draft
	email employee engineering error event expense export feature feedback finance firewall forecast form
	gateway guide hardware health hiring holiday incident invoice issue key laptop launch legal license login
	meeting metric migration mobile monitor network offboarding office onboarding order outage partner password
	payment payroll performance permission phone pipeline plan policy portal pricing printer privacy product
	project proposal quarter query receipt recruiting release renewal report request review roadmap role room
	salary sales schedule security server service sla software sprint storage subscription support survey
	team template ticket training travel update upgrade user vacation vendor vpn warehouse webinar wifi wiki`)

// Build writes a new workspace at path.
func Build(ctx context.Context, path string, p Params, progress io.Writer) error {
	if p.Queries <= 0 || p.PerQuery <= 0 || p.Docs < p.PerQuery {
		return fmt.Errorf("synthetic: need queries > 0 and docs >= pairs per query (got %+v)", p)
	}
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	st, err := store.Create(ctx, path, store.Scales["0-3"])
	if err != nil {
		return err
	}
	defer st.Close()
	rng := rand.New(rand.NewSource(1))
	zipf := rand.NewZipf(rng, 1.1, 2, uint64(len(words)-1))
	text := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = words[zipf.Uint64()]
		}
		return strings.Join(w, " ")
	}
	labs := append([]store.Labeler(nil), Labelers...)
	say("building a synthetic workspace of %d documents, %d queries, %d pairs (once; cached at %s)", p.Docs, p.Queries, p.Pairs(), path)
	const batch = 50_000
	for start := 0; start < p.Docs; start += batch {
		err := st.Tx(ctx, func(tx *store.Store) error {
			for i := start; i < min(start+batch, p.Docs); i++ {
				d := store.Document{ExtID: fmt.Sprintf("doc-%07d", i), Title: text(4), Body: text(30 + i%40)}
				if _, err := tx.PutDocument(ctx, &d, false); err != nil {
					return err
				}
			}
			return ctx.Err()
		})
		if err != nil {
			return err
		}
		say("  documents %d/%d", min(start+batch, p.Docs), p.Docs)
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := range labs {
			if err := tx.AddLabeler(ctx, &labs[i]); err != nil {
				return err
			}
		}
		for i := 0; i < p.Queries; i++ {
			q := store.Query{ExtID: fmt.Sprintf("query-%07d", i), Text: text(2 + i%3)}
			if _, err := tx.PutQuery(ctx, &q, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Pairs and grades in set-based SQL: query q gets documents
	// (q·7919 + k·101) mod Docs, k < PerQuery (distinct while 101·PerQuery
	// ≤ Docs, and a few hundred apart otherwise), and grades are hashes of
	// the pair id, the student's and teacher's correlated with the
	// reference's.
	db := st.DB()
	stmts := []struct {
		what string
		q    string
		args []any
	}{
		{"pairs", `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ? - 1)
			INSERT OR IGNORE INTO pairs(query_id, doc_id, source, created_at)
			SELECT q.id, (SELECT min(id) FROM documents) + ((q.id * 7919 + k.i * 101) % ?), 'imported', '2025-01-01'
			FROM queries q, k ORDER BY q.id, k.i`, []any{p.PerQuery, p.Docs}},
		{"reference grades", `INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at)
			SELECT id, ?, (id * 2654435761 % 1000003) % 4, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{labs[0].ID}},
		{"student grades", `INSERT INTO judgments(pair_id, labeler_id, grade, status, expected, created_at, updated_at)
			SELECT id, ?, g, 'ok', g + ((id * 40503) % 1000) / 1000.0 - 0.5, '2025-01-01', '2025-01-01'
			FROM (SELECT id, CASE WHEN id % 3 = 0 THEN (id * 7 + id / 11) % 4 ELSE (id * 2654435761 % 1000003) % 4 END AS g FROM pairs)`, []any{labs[1].ID}},
		{"teacher grades", `INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at)
			SELECT id, ?, CASE WHEN id % 5 = 0 THEN (id * 3) % 4 ELSE (id * 2654435761 % 1000003) % 4 END, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{labs[2].ID}},
	}
	for _, s := range stmts {
		say("  %s", s.what)
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("synthetic %s: %w", s.what, err)
		}
	}
	_, err = db.ExecContext(ctx, `ANALYZE`)
	return err
}

// Scratch copies the workspace at path to a new file in dir, for a
// measurement that writes; remove it with the returned func.
func Scratch(path, dir string) (string, func(), error) {
	f, err := os.CreateTemp(dir, "qrelbench-scratch-*.db")
	if err != nil {
		return "", nil, err
	}
	src, err := os.Open(path)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil, err
	}
	defer src.Close()
	_, err = io.Copy(f, src)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	name := f.Name()
	cleanup := func() { store.RemoveFiles(name) }
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return name, cleanup, nil
}
