//go:build !unix

package store

import "os"

// Without advisory locks the gate orders this process's writers only.
func lockShared(*os.File)    {}
func lockExclusive(*os.File) {}
func unlock(*os.File)        {}
