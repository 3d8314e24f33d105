package store

import (
	"math/rand"
	"testing"
	"time"
)

func BenchmarkZZProbe(b *testing.B) {
	st := searchCorpus(b)
	rng := rand.New(rand.NewSource(2))
	z := newZipf(rng)
	var qs []string
	for i := 0; i < 30; i++ {
		qs = append(qs, FTSQuery(randomQuery(rng, z)))
	}
	for round := 0; round < 2; round++ {
		for _, name := range []string{"join", "sub", "nojoin"} {
			q := map[string]string{
				"join":   `SELECT f.rowid, d.ext_id, -bm25(documents_fts, 2.0, 1.0) FROM documents_fts f JOIN documents d ON d.id = f.rowid WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT 10`,
				"sub":    `SELECT t.id, d.ext_id, t.s FROM (SELECT rowid AS id, -bm25(documents_fts, 2.0, 1.0) AS s FROM documents_fts WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT 10) t JOIN documents d ON d.id = t.id ORDER BY t.s DESC`,
				"nojoin": `SELECT rowid AS id, -bm25(documents_fts, 2.0, 1.0) AS s FROM documents_fts WHERE documents_fts MATCH ? ORDER BY bm25(documents_fts, 2.0, 1.0) LIMIT 10`,
			}[name]
			t0 := time.Now()
			for _, m := range qs {
				rows, err := st.DB().Query(q, m)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			}
			b.Logf("%s: %v/query", name, time.Since(t0)/time.Duration(len(qs)))
		}
	}
}
