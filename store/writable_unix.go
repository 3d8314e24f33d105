//go:build unix

package store

import "syscall"

// canWriteDir reports whether this process may create files in dir.
func canWriteDir(dir string) bool { return syscall.Access(dir, 2 /* W_OK */) == nil }
