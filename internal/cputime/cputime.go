// Package cputime measures the CPU time this process uses, for benchmarks
// to report beside wall time: a machine shared with other work stretches
// wall time but not CPU time.
package cputime

import (
	"testing"
	"time"
)

// Report adds the process CPU seconds per operation since start (a
// Process reading) to b as "cpu-s/op"; nothing where CPU time is not
// measured.
func Report(b *testing.B, start time.Duration) {
	if now := Process(); now > 0 {
		b.ReportMetric((now-start).Seconds()/float64(b.N), "cpu-s/op")
	}
}
