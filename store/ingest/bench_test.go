package ingest

// Import benchmarks and their anchor, the sqlite3 CLI doing the same SQL
// work on the same file (`.import` of the lines, json_extract, then
// set-based INSERTs into the workspace schema, triggers and FTS5 index
// included). Run both and compare:
//
//	go test -tags sqlite_fts5 -run '^$' -bench 'Import(Pairs|Docs)' -benchtime 3x ./store/ingest/
//	QRELBENCH_BENCH_1M=1 go test ... -bench 'Import(Pairs|Docs)1M' -benchtime 1x
//
// The 1M-row benchmarks need QRELBENCH_BENCH_1M=1 (they write a 350 MB file
// once, cached under the temporary directory by its parameters), the 10M one
// QRELBENCH_BENCH_10M=1. Every
// iteration imports into a new workspace, so no run sees another's state;
// the input files are only read.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/internal/peakrss"
	"github.com/qrelbench/qrelbench/store"
)

const (
	benchDocsPerQ    = 50
	benchVocabSize   = 20000
	benchPassageLen  = 50
	benchQueryLength = 4
	benchFileVersion = 1 // bump when the generator changes: the cache is keyed by it
)

var benchFiles sync.Map // name -> *benchFile

type benchFile struct {
	once sync.Once
	path string
	err  error
}

// benchPairsFile returns a JSONL file of rows pairs: rows/50 queries x 50
// documents, ~50-word passages of Zipf-distributed words from a
// 20,000-word vocabulary, each with a human_grade. It is written once and
// cached by its parameters in the temporary directory.
func benchPairsFile(b *testing.B, rows int) string {
	return cachedBenchFile(b, fmt.Sprintf("pairs-%d-v%d.jsonl", rows, benchFileVersion), func(w *bufio.Writer) error {
		return writeBenchPairs(w, rows, true)
	})
}

// benchDocsFile is the documents of benchPairsFile as a docs JSONL file.
func benchDocsFile(b *testing.B, rows int) string {
	return cachedBenchFile(b, fmt.Sprintf("docs-%d-v%d.jsonl", rows, benchFileVersion), func(w *bufio.Writer) error {
		return writeBenchPairs(w, rows, false)
	})
}

func cachedBenchFile(b *testing.B, name string, write func(*bufio.Writer) error) string {
	v, _ := benchFiles.LoadOrStore(name, &benchFile{})
	bf := v.(*benchFile)
	bf.once.Do(func() {
		dir := filepath.Join(os.TempDir(), "qrelbench-import-bench")
		if bf.err = os.MkdirAll(dir, 0o755); bf.err != nil {
			return
		}
		bf.path = filepath.Join(dir, name)
		if _, err := os.Stat(bf.path); err == nil {
			return
		}
		tmp, err := os.CreateTemp(dir, name+".*")
		if err != nil {
			bf.err = err
			return
		}
		defer os.Remove(tmp.Name())
		w := bufio.NewWriterSize(tmp, 1<<20)
		if bf.err = write(w); bf.err == nil {
			bf.err = w.Flush()
		}
		if err := tmp.Close(); bf.err == nil {
			bf.err = err
		}
		if bf.err == nil {
			bf.err = os.Rename(tmp.Name(), bf.path)
		}
	})
	if bf.err != nil {
		b.Fatal(bf.err)
	}
	return bf.path
}

func writeBenchPairs(w *bufio.Writer, rows int, pairs bool) error {
	syl := strings.Fields("ka lo mi ne ru sa te vo zi pa de fu go hi ja ol er an")
	vocab := make([]string, benchVocabSize)
	for i := range vocab {
		word := ""
		for n := i; ; n /= len(syl) {
			word += syl[n%len(syl)]
			if n < len(syl) {
				break
			}
		}
		vocab[i] = word
	}
	rng := rand.New(rand.NewSource(1))
	z := rand.NewZipf(rng, 1.1, 2, benchVocabSize-1)
	words := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = vocab[z.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	enc := json.NewEncoder(w)
	for q := 0; q*benchDocsPerQ < rows; q++ {
		qtext := words(2 + rng.Intn(benchQueryLength-1))
		for d := 0; d < benchDocsPerQ && q*benchDocsPerQ+d < rows; d++ {
			id := fmt.Sprintf("p%d", q*benchDocsPerQ+d)
			text := words(benchPassageLen/2 + rng.Intn(benchPassageLen))
			grade := rng.Intn(4)
			var rec any
			if pairs {
				rec = map[string]any{"query_id": fmt.Sprintf("q%d", q), "query_text": qtext, "doc_id": id, "doc_text": text, "human_grade": grade}
			} else {
				rec = map[string]any{"id": id, "text": text}
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func need1M(b *testing.B) {
	if os.Getenv("QRELBENCH_BENCH_1M") == "" {
		b.Skip("set QRELBENCH_BENCH_1M=1 for the 1M-row import benchmarks")
	}
}

func BenchmarkImportPairs100k(b *testing.B) { benchImportPairs(b, 100_000) }
func BenchmarkImportPairs1M(b *testing.B)   { need1M(b); benchImportPairs(b, 1_000_000) }
func BenchmarkImportDocs100k(b *testing.B)  { benchImportDocs(b, 100_000) }
func BenchmarkImportDocs1M(b *testing.B)    { need1M(b); benchImportDocs(b, 1_000_000) }

// BenchmarkImportPairs10M shows memory staying flat (peak-RSS-MiB) on a
// 3.5 GB file; QRELBENCH_BENCH_10M=1, and about 20 GB of free disk.
func BenchmarkImportPairs10M(b *testing.B) {
	if os.Getenv("QRELBENCH_BENCH_10M") == "" {
		b.Skip("set QRELBENCH_BENCH_10M=1 for the 10M-row import benchmark")
	}
	benchImportPairs(b, 10_000_000)
}

func BenchmarkImportPairsCLIFloor100k(b *testing.B) { benchCLIFloor(b, "pairs", 100_000) }
func BenchmarkImportPairsCLIFloor1M(b *testing.B)   { need1M(b); benchCLIFloor(b, "pairs", 1_000_000) }
func BenchmarkImportDocsCLIFloor100k(b *testing.B)  { benchCLIFloor(b, "docs", 100_000) }
func BenchmarkImportDocsCLIFloor1M(b *testing.B)    { need1M(b); benchCLIFloor(b, "docs", 1_000_000) }

// benchImportPairs times `import pairs` of a graded pairs file into a new
// workspace per iteration, the whole path: reading, checking, one
// transaction, commit.
func benchImportPairs(b *testing.B, rows int) {
	path := benchPairsFile(b, rows)
	benchImport(b, rows, func(st *store.Store) error {
		sum, err := ImportPairs(context.Background(), st, path, "human:imported", false)
		if err == nil && (sum.Inserted["pairs"] != rows || sum.Inserted["judgments"] != rows) {
			err = fmt.Errorf("summary %s", sum)
		}
		return err
	})
}

// benchImportDocs times `import docs` of a docs JSONL file the same way.
func benchImportDocs(b *testing.B, rows int) {
	path := benchDocsFile(b, rows)
	benchImport(b, rows, func(st *store.Store) error {
		sum, err := ImportDocs(context.Background(), st, path, false)
		if err == nil && sum.Inserted["documents"] != rows {
			err = fmt.Errorf("summary %s", sum)
		}
		return err
	})
}

// benchImport runs imp on a new workspace per iteration and reports rows
// per second of wall and CPU time and the peak RSS of an import.
func benchImport(b *testing.B, rows int, imp func(*store.Store) error) {
	var cpu float64
	var peak int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st := benchWorkspace(b, i)
		b.StartTimer()
		peakrss.Reset()
		c0 := cpuSeconds()
		err := imp(st)
		cpu += cpuSeconds() - c0
		b.StopTimer()
		peak = max(peak, peakrss.Bytes())
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
		b.StartTimer()
	}
	reportRates(b, rows, cpu)
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
}

// reportRates reports rows per second of wall time and of CPU time (user
// + system): on a machine shared with other work the second is the figure
// that compares.
func reportRates(b *testing.B, rows int, cpu float64) {
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if cpu > 0 {
		b.ReportMetric(float64(rows)*float64(b.N)/cpu, "rows/cpu-s")
	}
}

// cpuSeconds is the CPU time this process has used.
func cpuSeconds() float64 { return cputime.Process().Seconds() }

func benchWorkspace(b *testing.B, i int) *store.Store {
	st, err := store.Create(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("ws%d.db", i)), store.Scales["0-3"])
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// cliFloorSQL is what a skilled sqlite3 user would run to load the same
// file into a workspace: the lines into a temporary table, their fields
// extracted once, then one set-based INSERT per table. The workspace's
// triggers (FTS5 index, assignment counts, grade checks) fire as they do
// for qrelbench; judgment_history gets the rows qrelbench writes too.
const cliFloorPairsSQL = `
PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;
CREATE TEMP TABLE raw(line TEXT);
.mode ascii
.separator "\037" "\n"
.import '%s' raw
BEGIN IMMEDIATE;
CREATE TEMP TABLE r AS SELECT rowid AS n, json_extract(line,'$.query_id') AS qid, json_extract(line,'$.query_text') AS qtext,
  json_extract(line,'$.doc_id') AS did, json_extract(line,'$.doc_text') AS dtext, json_extract(line,'$.human_grade') AS grade FROM raw;
INSERT INTO queries(ext_id, text, origin, created_at) SELECT qid, qtext, 'imported', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ') FROM r GROUP BY qid ORDER BY min(n);
INSERT INTO documents(ext_id, body, created_at) SELECT did, dtext, strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ') FROM r ORDER BY n;
INSERT INTO labelers(name, kind, created_at) VALUES ('human:imported', 'human', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ'));
INSERT INTO pairs(query_id, doc_id, source, created_at) SELECT q.id, d.id, 'imported', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ')
  FROM r JOIN queries q ON q.ext_id = r.qid JOIN documents d ON d.ext_id = r.did ORDER BY r.n;
INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at)
  SELECT p.id, (SELECT id FROM labelers WHERE name = 'human:imported'), r.grade, 'ok', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ'), strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ')
  FROM r JOIN documents d ON d.ext_id = r.did JOIN pairs p ON p.doc_id = d.id ORDER BY r.n;
INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, at) SELECT pair_id, labeler_id, 'set', grade, status, created_at FROM judgments;
COMMIT;
`

const cliFloorDocsSQL = `
PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;
CREATE TEMP TABLE raw(line TEXT);
.mode ascii
.separator "\037" "\n"
.import '%s' raw
BEGIN IMMEDIATE;
INSERT INTO documents(ext_id, body, created_at) SELECT json_extract(line,'$.id'), json_extract(line,'$.text'), strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ') FROM raw ORDER BY rowid;
COMMIT;
`

// benchCLIFloor times the sqlite3 CLI loading the same file into a new
// workspace (made by qrelbench, outside the timer) per iteration.
func benchCLIFloor(b *testing.B, kind string, rows int) {
	cli, err := exec.LookPath("sqlite3")
	if err != nil {
		b.Skip("no sqlite3 CLI on PATH (apt-get install sqlite3)")
	}
	path, script := benchPairsFile(b, rows), cliFloorPairsSQL
	if kind == "docs" {
		path, script = benchDocsFile(b, rows), cliFloorDocsSQL
	}
	script = fmt.Sprintf(script, path)
	var cpu float64
	var peak int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st := benchWorkspace(b, i)
		db := st.Path()
		st.Close()
		b.StartTimer()
		cmd := exec.Command(cli, db)
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			b.Fatalf("sqlite3: %v\n%s", err, out)
		}
		b.StopTimer()
		cpu += (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = max(peak, ru.Maxrss<<10)
		}
		check, err := store.Open(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		var n int
		table := "judgments"
		if kind == "docs" {
			table = "documents"
		}
		check.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
		check.Close()
		if n != rows {
			b.Fatalf("the CLI loaded %d %s, want %d", n, table, rows)
		}
		b.StartTimer()
	}
	reportRates(b, rows, cpu)
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
}
