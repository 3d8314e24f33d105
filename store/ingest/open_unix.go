//go:build unix

package ingest

import (
	"os"
	"syscall"
)

// openNoFollow opens a file for reading without blocking (a FIFO that
// slipped in is not waited on) and without following a final symlink.
func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}

// openNonBlocking opens a named input file for reading without waiting on a
// FIFO's writer (an open of a FIFO blocks forever, deaf to SIGTERM); the
// caller refuses what is not a regular file.
func openNonBlocking(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
