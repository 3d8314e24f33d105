# qrelbench needs cgo (github.com/mattn/go-sqlite3) and SQLite's FTS5, which
# that driver compiles in only with the sqlite_fts5 build tag.
TAGS := sqlite_fts5
export CGO_ENABLED := 1

.PHONY: build demo test bench vet

build:
	go build -tags $(TAGS) -o qrelbench ./cmd/qrelbench

demo:
	go run -tags $(TAGS) ./cmd/qrelbench demo

test:
	go test -tags $(TAGS) ./...

vet:
	go vet -tags $(TAGS) ./...

bench:
	go test -tags $(TAGS) -run '^$$' -bench . -benchtime 1x ./...
