//go:build !unix

package ingest

import "os"

// openNoFollow opens a file for reading; the callers' Lstat checks are all
// the protection there is without O_NOFOLLOW and O_NONBLOCK.
func openNoFollow(p string) (*os.File, error) { return os.Open(p) }

// openNonBlocking opens a named input file for reading.
func openNonBlocking(p string) (*os.File, error) { return os.Open(p) }
