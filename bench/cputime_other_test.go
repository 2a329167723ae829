//go:build !unix

package bench

// processCPUTime is unknown here: the benchmarks then report no cpu-ns/op.
func processCPUTime() int64 { return -1 }
