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

# Go benchmarks. Each operation is a whole pass over a benchmark's inputs,
# cold and warm runs are separate sub-benchmarks, and cached workspaces are
# copied before anything writes to them. 3 s × 3 runs: on a 2-core machine
# shared with other work, 1 s runs of a draw (NextPair) spread ±30% in wall
# time, 3 s runs ±12%, while CPU time (cpu-s/op, cpu-ms/query) stays within
# ±4% either way: compare those, over the 3 runs (benchstat). Large
# workspaces are built once and cached, outside the timer;
# QRELBENCH_BENCH_1M=1 adds the 1M-document and 1M-row figures.
BENCHTIME ?= 3s
BENCHCOUNT ?= 3
bench:
	go test -tags $(TAGS) -run '^$$' -bench . -benchtime $(BENCHTIME) -count $(BENCHCOUNT) -timeout 3h ./...

# The figures a user sizes a machine with: synthetic workspaces of 1M pairs
# (built once, cached), one table. `--sizes 1m,10m` adds 10M pairs.
bench-scale:
	go run -tags $(TAGS) ./cmd/qrelbench bench --sizes 1m
