// Package bench compares the cost of ginauth's RequireAuth with peer JWT
// middleware for Gin. It is its own module so that the peers' dependencies
// never enter github.com/ginauth/ginauth; everything is in bench_test.go.
//
//	cd bench && go test -run XXX -bench . -benchmem -count 5
package bench
