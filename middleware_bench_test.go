package ginauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// BenchmarkRequireAuth measures the RequireAuth hot path through a whole Gin
// engine (engine.ServeHTTP with an httptest.ResponseRecorder), against the
// same route and handler without authentication. RequireAuth's overhead is
// its ns/op and allocs/op minus bare-gin's in the same run.
//
// Every sub-benchmark also reports cpu-ns/op, the CPU time the process used
// per request: on a shared machine it does not count the time spent waiting
// for a core, which ns/op does. The RequireAuth ones report store-reads, the
// store queries of the timed loop, and fail when a valid token cost more than
// the one liveness check per SessionCheckInterval (an hour here).
//
//	go test -run XXX -bench BenchmarkRequireAuth -benchmem -count 5 .
func BenchmarkRequireAuth(b *testing.B) {
	b.Run("bare-gin", func(b *testing.B) {
		// The setup is not used, only kept live: on a heap this small, the
		// GC's cost per request depends on what else is live, so bare-gin
		// runs with the same heap as the RequireAuth runs.
		s := newBenchSetup(b)
		engine := gin.New()
		engine.GET(benchRoute, benchHandler)
		benchServe(b, engine, []string{""}, nil)
		runtime.KeepAlive(s)
	})

	b.Run("repeated-token", func(b *testing.B) {
		s := newBenchSetup(b)
		engine := gin.New()
		engine.GET(benchRoute, s.auth.RequireAuth(), benchHandler)
		benchServe(b, engine, []string{"Bearer " + s.tokens.AccessToken}, s.store)
	})

	b.Run("first-seen-token", func(b *testing.B) {
		s := newBenchSetup(b)
		engine := gin.New()
		engine.GET(benchRoute, s.auth.RequireAuth(), benchHandler)
		// The login's token warms up; then each timed request carries an
		// access token the Auth issued but has never verified.
		headers := append([]string{"Bearer " + s.tokens.AccessToken}, s.freshAuthorizations(b, b.N)...)
		benchServe(b, engine, headers, s.store)
	})

	b.Run("bare-gin-parallel", func(b *testing.B) {
		s := newBenchSetup(b) // kept live, as in bare-gin
		engine := gin.New()
		engine.GET(benchRoute, benchHandler)
		benchServeParallel(b, engine, "", nil)
		runtime.KeepAlive(s)
	})

	b.Run("repeated-token-parallel", func(b *testing.B) {
		s := newBenchSetup(b)
		engine := gin.New()
		engine.GET(benchRoute, s.auth.RequireAuth(), benchHandler)
		benchServeParallel(b, engine, "Bearer "+s.tokens.AccessToken, s.store)
	})
}

// benchRoute is the route every sub-benchmark serves, and benchHandler its
// handler: the same for bare Gin and behind RequireAuth.
const (
	benchRoute = "/api/items/:id"
	benchPath  = "/api/items/42"
)

func benchHandler(c *gin.Context) { c.String(http.StatusOK, "ok") }

// benchServe sends one request with headers[0] before the timer starts, then
// b.N timed ones with headers[1:] in turn (headers[0] again when it is the
// only one). "" sends no Authorization. Only the Authorization value changes
// between requests, so the loop itself does not allocate. Every request must
// answer 200. With a store, its reads during the timed loop are checked.
func benchServe(b *testing.B, engine *gin.Engine, headers []string, store *countingStore) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, benchPath, nil)
	authorization := []string{headers[0]}
	if headers[0] != "" {
		req.Header["Authorization"] = authorization
	}
	benchRequest(b, engine, req)
	if len(headers) > 1 {
		headers = headers[1:]
	}
	reads := store.reads()
	runtime.GC() // the setup's garbage is not the loop's to collect
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	for i := range b.N {
		authorization[0] = headers[i%len(headers)]
		benchRequest(b, engine, req)
	}
	reportCPU(b, cpu)
	b.StopTimer()
	store.check(b, reads)
}

// benchServeParallel is benchServe with one repeated Authorization value,
// from GOMAXPROCS goroutines at once.
func benchServeParallel(b *testing.B, engine *gin.Engine, authorization string, store *countingStore) {
	b.Helper()
	newRequest := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, benchPath, nil)
		if authorization != "" {
			req.Header["Authorization"] = []string{authorization}
		}
		return req
	}
	benchRequest(b, engine, newRequest())
	reads := store.reads()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	b.RunParallel(func(pb *testing.PB) {
		req := newRequest()
		for pb.Next() {
			w := httptest.NewRecorder()
			engine.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	reportCPU(b, cpu)
	b.StopTimer()
	store.check(b, reads)
}

// benchRequest serves req with a fresh recorder and fails unless it got 200.
func benchRequest(b *testing.B, engine *gin.Engine, req *http.Request) {
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// reportCPU reports the process CPU time per op since start, when known.
func reportCPU(b *testing.B, start int64) {
	if end := processCPUTime(); start >= 0 && end >= 0 {
		b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
	}
}

// benchSetup is an Auth on a counted temporary SQLite store, with a user
// signed in once (one live session).
type benchSetup struct {
	auth    *Auth
	store   *countingStore
	tokens  *TokenResponse
	session *Session
}

// newBenchSetup trusts a live session for an hour, so within a benchmark run
// the store may be asked about it at most once.
func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	store := &countingStore{Store: openTestStore(b, "sqlite")}
	a := newTestAuthOn(b, store, func(cfg *Config) {
		cfg.SessionCheckInterval = time.Hour
		cfg.AccessTokenTTL = time.Hour
	})
	ctx := context.Background()
	const email, password = "bench@example.com", "correct horse battery staple"
	_, err := a.CreateUser(ctx, NewUser{Email: email, Password: password})
	require.NoError(b, err)
	tokens, _, err := a.Login(ctx, email, password, ClientInfo{UserAgent: "bench"})
	require.NoError(b, err)
	claims, err := a.VerifyAccessToken(tokens.AccessToken)
	require.NoError(b, err)
	sess, err := store.SessionByID(ctx, claims.Session())
	require.NoError(b, err)
	return &benchSetup{auth: a, store: store, tokens: tokens, session: sess}
}

// freshAuthorizations issues n more access tokens in the setup's session,
// each with its own jti as a refresh would, and returns them as
// Authorization values. The Auth has verified none of them.
func (s *benchSetup) freshAuthorizations(b *testing.B, n int) []string {
	b.Helper()
	headers := make([]string, n)
	now := s.auth.now()
	for i := range headers {
		token, _, err := s.auth.issueAccessToken(s.session, nil, false, now)
		require.NoError(b, err)
		headers[i] = "Bearer " + token
	}
	return headers
}

// countingStore counts the store reads RequireAuth could make, to prove that
// a valid token costs no database query.
type countingStore struct {
	Store
	sessionLive atomic.Int64
	userByID    atomic.Int64
}

func (s *countingStore) SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (uuid.UUID, bool, error) {
	s.sessionLive.Add(1)
	return s.Store.SessionLive(ctx, id, now)
}

func (s *countingStore) UserByID(ctx context.Context, id uuid.UUID) (*User, error) {
	s.userByID.Add(1)
	return s.Store.UserByID(ctx, id)
}

type storeReads struct{ sessionLive, userByID int64 }

func (s *countingStore) reads() storeReads {
	if s == nil {
		return storeReads{}
	}
	return storeReads{s.sessionLive.Load(), s.userByID.Load()}
}

// check reports the store reads made since before and fails when valid
// tokens cost more than the one SessionLive allowed per SessionCheckInterval
// (an hour in newBenchSetup), or any user load.
func (s *countingStore) check(b *testing.B, before storeReads) {
	b.Helper()
	if s == nil {
		return
	}
	now := s.reads()
	live, users := now.sessionLive-before.sessionLive, now.userByID-before.userByID
	b.ReportMetric(float64(live+users), "store-reads")
	if live > 1 || users > 0 {
		b.Fatalf("valid tokens cost store reads: SessionLive %d (at most 1 allowed), UserByID %d", live, users)
	}
}
