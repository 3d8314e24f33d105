package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIExportPairsFormats: `export pairs --format csv|tsv` writes a table
// a spreadsheet reads, --out says how many pairs, and an unknown format is
// refused before anything is written.
func TestCLIExportPairsFormats(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	pairs := cliFile(t, dir, "pairs.jsonl",
		`{"query_id":"q1","query_text":"how is honey made","doc_id":"d1","doc_text":"bees, make\thoney","human_grade":3}`+"\n")
	mustCLI(t, db, "import", "pairs", pairs)
	for _, f := range []string{"csv", "tsv"} {
		out := mustCLI(t, db, "export", "pairs", "--format", f)
		r := csv.NewReader(strings.NewReader(out))
		if f == "tsv" {
			r.Comma = '\t'
		}
		recs, err := r.ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("%s: %v %q", f, err, out)
		}
		if recs[0][len(recs[0])-1] != "grade:human:imported" || recs[1][len(recs[1])-1] != "3" || recs[1][11] != "bees, make\thoney" {
			t.Fatalf("%s: %q", f, recs)
		}
	}
	file := filepath.Join(dir, "p.csv")
	if _, errOut, err := coreCLI(t, db, "export", "pairs", "--format", "csv", "--out", file); err != nil || !strings.Contains(errOut, "wrote 1 pair to "+file) {
		t.Fatalf("--out: %v %q", err, errOut)
	}
	bad := filepath.Join(dir, "bad.xlsx")
	if _, _, err := coreCLI(t, db, "export", "pairs", "--format", "xlsx", "--out", bad); err == nil || !strings.Contains(err.Error(), "jsonl, csv or tsv") {
		t.Fatalf("unknown format: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Fatal("an unknown format left a file")
	}
}
