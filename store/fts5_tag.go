//go:build !sqlite_fts5

package store

// qrelbench's BM25 index needs SQLite's FTS5, which github.com/mattn/go-sqlite3
// compiles in only with the sqlite_fts5 build tag. Failing here, at compile
// time, is clearer than "no such module: fts5" at run time:
//
//	go build -tags sqlite_fts5 ./...   (or use `make`, see README.md)
var _ = this_build_needs_the_sqlite_fts5_tag_see_README
