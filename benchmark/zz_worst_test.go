package benchmark
import ("testing";"time";"strconv")
func TestWorstCaseTmp(t *testing.T) {
	items := synthetic(1, 1_000_000, 2000)
	for i := range items { items[i].Query = "q"+strconv.Itoa(i) }
	st := time.Now()
	r, err := Compute(items, Options{MaxGrade: 3, Bootstrap: 1000, Seed: 1})
	t.Logf("1M queries of 1 doc: %v err=%v ci=%v", time.Since(st), err, r.CI["cohen_kappa"])
}
