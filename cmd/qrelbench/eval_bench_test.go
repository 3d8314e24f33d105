package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

// The eval benchmarks time `qrelbench eval --reference human:ref --labelers
// student,teacher` (every metric, 1,000 bootstrap samples for each of the
// two) on the synthetic workspaces `qrelbench bench` measures, from process
// start to the printed table: opening the workspace, reading the pairs and
// three labelers' grades, pairing, the metrics, the bootstrap, the table.
//
//   - cold: a new process each time, as a user runs it: nothing cached in
//     the process, the workspace file in the OS page cache (it is read once
//     before the timer so that every iteration starts alike; a first run
//     after a reboot also waits for the disk). Reports the children's CPU
//     seconds and the largest peak RSS of one.
//   - warm: the same command line run in this process again, on a heap
//     that has done it before (what `qrelbench bench`'s warm row measures,
//     through benchmark.Evaluate).
//
// Wall time on a shared machine is inflated; cpu-s/op is the figure to
// compare between runs.

func BenchmarkEval1M(b *testing.B) { benchEval(b, "1m", true) }

// BenchmarkEval10M needs the 10M workspace already built (`qrelbench bench
// --sizes 10m` builds it once: half an hour or more); it does not build it.
func BenchmarkEval10M(b *testing.B) { benchEval(b, "10m", false) }

func benchEval(b *testing.B, size string, build bool) {
	ctx := context.Background()
	dir := synthetic.CacheDir()
	p := benchSizes[size]
	if _, built := synthetic.CachedPath(dir, p); !built && !build {
		b.Skipf("no %s workspace in %s: `qrelbench bench --sizes %s` builds it", size, dir, size)
	}
	path, err := synthetic.Cached(ctx, dir, p, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"--db", path, "eval", "--reference", synthetic.Labelers[0].Name,
		"--labelers", synthetic.Labelers[1].Name + "," + synthetic.Labelers[2].Name, "--bootstrap", "1000"}
	inProcess := func(b *testing.B) {
		var errb strings.Builder
		if err := run(ctx, &env{stdout: io.Discard, stderr: &errb, stdin: strings.NewReader("")}, args); err != nil {
			b.Fatalf("%v\n%s", err, errb.String())
		}
	}
	inProcess(b) // the file into the OS page cache, for both
	b.Run("cold", func(b *testing.B) {
		var cpu time.Duration
		var peak int64
		for b.Loop() {
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), childEnv+"=1")
			var errb strings.Builder
			cmd.Stdout, cmd.Stderr = io.Discard, &errb
			if err := cmd.Run(); err != nil {
				b.Fatalf("%v\n%s", err, errb.String())
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				peak = max(peak, ru.Maxrss<<10) // KiB on Linux
			}
		}
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		if peak > 0 {
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
		}
	})
	b.Run("warm", func(b *testing.B) {
		start := cputime.Process()
		for b.Loop() {
			inProcess(b)
		}
		cputime.Report(b, start)
	})
}
