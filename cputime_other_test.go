//go:build !unix

package ginauth

// processCPUTime is unknown here: the benchmarks then report no cpu-ns/op.
func processCPUTime() int64 { return -1 }
