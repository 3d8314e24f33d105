// Command gen writes the embedded demo corpus, store/demo/corpus.jsonl.
// Run it from the repository root:
//
//	go run ./store/demo/gen
//
// The output is deterministic: rerunning it gives the same bytes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/qrelbench/qrelbench/store/demo"
)

func main() {
	out := flag.String("o", "store/demo/corpus.jsonl", "output file")
	seed := flag.Uint64("seed", demo.DefaultSeed, "generator seed")
	flag.Parse()
	data, err := demo.Encode(demo.Generate(*seed))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", *out, len(data))
}
