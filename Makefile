# qrelbench needs cgo (github.com/mattn/go-sqlite3) and SQLite's FTS5, which
# that driver compiles in only with the sqlite_fts5 build tag.
TAGS := sqlite_fts5
export CGO_ENABLED := 1

.PHONY: build demo test bench bench-scale vet

build:
	go build -tags $(TAGS) -o qrelbench ./cmd/qrelbench

demo:
	go run -tags $(TAGS) ./cmd/qrelbench demo

test:
	go test -tags $(TAGS) ./...

vet:
	go vet -tags $(TAGS) ./...

# Go benchmarks at the default benchtime (1 s of warm iterations each; the
# ones on large cached workspaces build them once, outside the timer).
bench:
	go test -tags $(TAGS) -run '^$$' -bench . ./...

# The figures a user sizes a machine with: synthetic workspaces of 1M pairs
# (built once, cached), one table. `--sizes 1m,10m` adds 10M pairs.
bench-scale:
	go run -tags $(TAGS) ./cmd/qrelbench bench --sizes 1m
