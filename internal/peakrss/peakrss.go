// Package peakrss reads the peak resident memory of this process, so that a
// benchmark or `qrelbench bench` can say what one path needed at most.
package peakrss

import (
	"os"
	"strconv"
	"strings"
)

// Reset restarts the kernel's peak-RSS count of this process (Linux:
// writing 5 to /proc/self/clear_refs), so that Bytes tells the peak of what
// runs next. Elsewhere it does nothing.
func Reset() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// Bytes is the process's peak resident set since the last Reset (VmHWM), or
// 0 where the kernel does not say.
func Bytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
