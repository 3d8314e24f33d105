package words

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{0, "pair", "0 pairs"},
		{1, "pair", "1 pair"},
		{2, "pair", "2 pairs"},
		{2123, "pair", "2,123 pairs"},
		{1, "query", "1 query"},
		{13, "query", "13 queries"},
		{2, "day", "2 days"},
		{2, "batch", "2 batches"},
		{3, "pass", "3 passes"},
		{1, "human grade", "1 human grade"},
		{2, "human grade", "2 human grades"},
		{1000000, "pair", "1,000,000 pairs"},
		{-1234, "change", "-1,234 changes"},
		{999, "run", "999 runs"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
