package benchmark

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// TestComputeResultsUnchanged holds Compute to the results it gave before
// it was rebuilt for speed (issue 14), to the last bit: JSON writes each
// float64 with the shortest digits that read back to it, so the digest of
// the encoding changes with any bit of any metric or interval. The digests
// were taken from the code as it was (main at ad781e5); a change that moves
// any figure must say why and record new ones.
func TestComputeResultsUnchanged(t *testing.T) {
	for _, c := range []struct {
		seed      uint64
		n, q, min int
		bootstrap int
		want      string
	}{
		{51, 20_000, 300, 0, 200, "8b64f5bb1567612d"},
		{7, 5_000, 40, 0, 500, "2ed5524f6d029649"},
		{3, 3_000, 1, 0, 100, "74a047dac6c6c3ba"},
		{9, 4_000, 200, 1, 300, "d1d62e7fdb189557"},
	} {
		items := synthetic(c.seed, c.n, c.q)
		for i := range items {
			items[i].Ref += c.min
			items[i].Got += c.min
		}
		res, err := Compute(items, Options{MinGrade: c.min, MaxGrade: 3 + c.min, Bootstrap: c.bootstrap, Seed: int64(c.seed)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:8]); got != c.want {
			t.Errorf("seed %d, %d items, %d queries: digest %s, want %s\n%s", c.seed, c.n, c.q, got, c.want, b)
		}
	}
}
