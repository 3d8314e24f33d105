package pipeline

import (
	"testing"
	"time"
)

func TestProgressRateETA(t *testing.T) {
	p := Progress{Total: 100, Done: 25, Elapsed: 5 * time.Second}
	if p.Rate() != 5 || p.ETA() != 15*time.Second {
		t.Fatalf("rate %g eta %s", p.Rate(), p.ETA())
	}
	if (Progress{Total: 10}).Rate() != 0 || (Progress{Total: 10}).ETA() != 0 {
		t.Fatal("no elapsed time: rate and ETA must be 0")
	}
	if (Progress{Total: 10, Done: 10, Elapsed: time.Second}).ETA() != 0 {
		t.Fatal("finished: ETA must be 0")
	}
	var nilFunc ProgressFunc
	nilFunc.send(p) // a nil callback is allowed
}
