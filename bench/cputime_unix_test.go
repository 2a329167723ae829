//go:build unix

package bench

import "syscall"

// processCPUTime is the CPU time (user + system) the process has used, in
// nanoseconds, or -1 when it cannot be read.
func processCPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
