//go:build unix

package store

import (
	"os"
	"syscall"
)

// Advisory locks on the gate's sidecar file. Errors are ignored: without
// the lock the gate still orders this process's writers.
func lockShared(f *os.File) {
	if f != nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_SH)
	}
}

func lockExclusive(f *os.File) {
	if f != nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
	}
}

func unlock(f *os.File) {
	if f != nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
}
