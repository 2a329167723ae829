package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ginjwt "github.com/appleboy/gin-jwt/v2"
	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Every middleware guards the same route with the same handler.
const (
	route = "/api/items/:id"
	path  = "/api/items/42"
)

func handler(c *gin.Context) { c.String(http.StatusOK, "ok") }

// secret signs the tokens of every middleware (HS256 all round).
var secret = []byte("bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz")

// tempDir holds the SQLite database of the ginauth benchmarks.
var tempDir string

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	var err error
	if tempDir, err = os.MkdirTemp("", "ginauth-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if shared != nil {
		_ = shared.store.Close()
	}
	_ = os.RemoveAll(tempDir)
	os.Exit(code)
}

// BenchmarkAuth serves one GET through a whole Gin engine per iteration:
// the same route and handler without authentication (bare-gin) and behind
// each middleware with a valid token. A middleware's overhead is its ns/op
// and allocs/op minus bare-gin's in the same run.
//
// The first four run on a small heap. ginauth-first-seen needs one token per
// iteration, all kept for its later runs, so the heap grows; bare-gin,
// ginauth-repeated and gin-jwt then run again on that heap, for a
// like-for-like comparison.
func BenchmarkAuth(b *testing.B) {
	// The ginauth fixture (its SQLite store and Auth) lives from the start,
	// so that every sub-benchmark runs with the same live heap: on a heap
	// this small the GC's cost per request depends on what else is live.
	getFixture(b)

	b.Run("bare-gin", func(b *testing.B) {
		engine := gin.New()
		engine.GET(route, handler)
		serveLoop(b, engine, []string{""}, nil)
	})

	// ginauth's RequireAuth with the same token every time: after the first
	// request, a cache hit.
	b.Run("ginauth-repeated", func(b *testing.B) {
		fix := getFixture(b)
		auth, counted := fix.freshAuth(b)
		engine := gin.New()
		engine.GET(route, auth.RequireAuth(), handler)
		serveLoop(b, engine, fix.headers[:1], counted)
	})

	// appleboy/gin-jwt's MiddlewareFunc with a token it issued (it verifies
	// every request: there is no cache).
	b.Run("gin-jwt", func(b *testing.B) {
		engine, authorization := ginJWTEngine(b)
		serveLoop(b, engine, []string{authorization}, nil)
	})

	// A hand-written golang-jwt/v5 middleware: typed claims, parsed and
	// validated on every request.
	b.Run("golang-jwt-v5", func(b *testing.B) {
		now := time.Now()
		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, &appClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer:    issuer,
				Subject:   uuid.NewString(),
				Audience:  jwt.ClaimStrings{audience},
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				IssuedAt:  jwt.NewNumericDate(now),
				ID:        uuid.NewString(),
			},
			SessionID: uuid.NewString(),
		}).SignedString(secret)
		if err != nil {
			b.Fatal(err)
		}
		engine := gin.New()
		engine.GET(route, handWrittenJWT(), handler)
		serveLoop(b, engine, []string{"Bearer " + token}, nil)
	})

	// ginauth's RequireAuth with a token it issued but has not verified yet,
	// every time: a cache miss, so a full verification.
	b.Run("ginauth-first-seen", func(b *testing.B) {
		fix := getFixture(b)
		fix.grow(b, b.N+1)
		// A fresh Auth has an empty token cache: none of the tokens is seen
		// yet. The first one is spent before the timer, with the one session
		// check an hour allows.
		auth, counted := fix.freshAuth(b)
		engine := gin.New()
		engine.GET(route, auth.RequireAuth(), handler)
		serveLoop(b, engine, fix.headers[:b.N+1], counted)
	})

	// bare-gin, ginauth-repeated and gin-jwt again, with the heap as
	// ginauth-first-seen left it (its tokens are kept): a larger live heap
	// makes the GC run less often, so ginauth-first-seen is compared with
	// these, measured like it.
	b.Run("bare-gin-after-first-seen", func(b *testing.B) {
		engine := gin.New()
		engine.GET(route, handler)
		serveLoop(b, engine, []string{""}, nil)
	})
	b.Run("ginauth-repeated-after-first-seen", func(b *testing.B) {
		fix := getFixture(b)
		auth, counted := fix.freshAuth(b)
		engine := gin.New()
		engine.GET(route, auth.RequireAuth(), handler)
		serveLoop(b, engine, fix.headers[:1], counted)
	})
	b.Run("gin-jwt-after-first-seen", func(b *testing.B) {
		engine, authorization := ginJWTEngine(b)
		serveLoop(b, engine, []string{authorization}, nil)
	})
}

// ginJWTEngine is the route behind appleboy/gin-jwt's MiddlewareFunc, and
// the Authorization value of a token it issued.
func ginJWTEngine(b *testing.B) (*gin.Engine, string) {
	b.Helper()
	mw, err := ginjwt.New(&ginjwt.GinJWTMiddleware{
		Realm:       "bench",
		Key:         secret,
		Timeout:     time.Hour,
		MaxRefresh:  time.Hour,
		IdentityKey: "id",
		PayloadFunc: func(data any) ginjwt.MapClaims {
			return ginjwt.MapClaims{"id": data}
		},
		Authenticator: func(*gin.Context) (any, error) {
			return nil, ginjwt.ErrFailedAuthentication
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := mw.TokenGenerator(uuid.NewString())
	if err != nil {
		b.Fatal(err)
	}
	engine := gin.New()
	engine.GET(route, mw.MiddlewareFunc(), handler)
	return engine, "Bearer " + token
}

// serveLoop sends one request before the timer starts, with headers[0],
// then b.N timed ones with headers[1:] in turn (or headers[0] again when it
// is the only one). An empty header means no Authorization. Each request
// gets a fresh httptest.ResponseRecorder and must answer 200. When counted
// is not nil, the store reads of the timed requests are reported and must
// be at most one.
func serveLoop(b *testing.B, engine *gin.Engine, headers []string, counted *countingStore) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	authorization := []string{headers[0]}
	if headers[0] != "" {
		req.Header["Authorization"] = authorization
	}
	serve(b, engine, req)
	if len(headers) > 1 {
		headers = headers[1:]
	}
	var before int64
	if counted != nil {
		before = counted.calls.Load()
	}
	runtime.GC() // the setup's garbage is not the loop's to collect
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPUTime()
	for i := range b.N {
		authorization[0] = headers[i%len(headers)]
		serve(b, engine, req)
	}
	if end := processCPUTime(); cpu >= 0 && end >= 0 {
		b.ReportMetric(float64(end-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.StopTimer()
	if counted != nil {
		reportStoreReads(b, counted.calls.Load()-before)
	}
}

func serve(b *testing.B, engine *gin.Engine, req *http.Request) {
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// reportStoreReads reports the store's SessionLive calls during the timed
// loop and fails when there were more than the one per SessionCheckInterval
// (an hour here) that RequireAuth may make.
func reportStoreReads(b *testing.B, calls int64) {
	b.ReportMetric(float64(calls), "store-reads")
	if calls > 1 {
		b.Fatalf("valid tokens cost %d SessionLive calls; at most 1 is allowed", calls)
	}
}

// The ginauth fixture: one SQLite store with one user and one session,
// shared by every run. Its access tokens are issued by ginauth itself
// (Login, then Refresh for each further one), and kept across runs: each
// run builds a fresh Auth on the same store and secret, whose token cache
// has seen none of them.
type fixture struct {
	store   *ginauth.GormStore
	issuer  *ginauth.Auth
	refresh string
	headers []string // "Bearer <access token>", all of the same session
}

var shared *fixture

func getFixture(b *testing.B) *fixture {
	b.Helper()
	if shared != nil {
		return shared
	}
	ctx := context.Background()
	store, err := ginauth.OpenStore(ctx, "sqlite://"+filepath.Join(tempDir, "ginauth.db"))
	if err != nil {
		b.Fatal(err)
	}
	fix := &fixture{store: store}
	fix.issuer = fix.newAuth(b, store)
	const email, password = "bench@example.com", "correct horse battery staple"
	if _, err := fix.issuer.CreateUser(ctx, ginauth.NewUser{Email: email, Password: password}); err != nil {
		b.Fatal(err)
	}
	tokens, _, err := fix.issuer.Login(ctx, email, password, ginauth.ClientInfo{UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	fix.refresh = tokens.RefreshToken
	fix.headers = []string{"Bearer " + tokens.AccessToken}
	shared = fix
	return fix
}

func (fix *fixture) newAuth(b *testing.B, store ginauth.Store) *ginauth.Auth {
	b.Helper()
	a, err := ginauth.New(ginauth.Config{
		Secret:               string(secret),
		Store:                store,
		Issuer:               issuer,
		Audience:             audience,
		AccessTokenTTL:       time.Hour,
		SessionCheckInterval: time.Hour,
		Argon2:               ginauth.Argon2Params{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// freshAuth is an Auth with empty caches on the fixture's store, counted.
func (fix *fixture) freshAuth(b *testing.B) (*ginauth.Auth, *countingStore) {
	counted := &countingStore{Store: fix.store}
	return fix.newAuth(b, counted), counted
}

// grow issues access tokens until there are n, by refreshing the session
// (not timed: each is a few store writes).
func (fix *fixture) grow(b *testing.B, n int) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	for len(fix.headers) < n {
		tokens, err := fix.issuer.Refresh(context.Background(), fix.refresh)
		if err != nil {
			b.Fatal(err)
		}
		fix.refresh = tokens.RefreshToken
		fix.headers = append(fix.headers, "Bearer "+tokens.AccessToken)
	}
}

// countingStore counts SessionLive calls: a valid token must cost none but
// the one per SessionCheckInterval.
type countingStore struct {
	ginauth.Store
	calls atomic.Int64
}

func (s *countingStore) SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (uuid.UUID, bool, error) {
	s.calls.Add(1)
	return s.Store.SessionLive(ctx, id, now)
}

// The hand-written golang-jwt/v5 middleware: typed claims, HS256 only,
// exp/iat/iss/aud required and checked, parsed and validated on every
// request, as a careful engineer writes it without a kit.
const (
	issuer   = "https://bench.example"
	audience = "bench-api"
)

type appClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Scope     string `json:"scope,omitempty"`
}

type claimsKey struct{}

func handWrittenJWT() gin.HandlerFunc {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(10*time.Second),
	)
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }
	unauthorized := func(c *gin.Context) {
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": "UNAUTHORIZED"})
	}
	return func(c *gin.Context) {
		scheme, token, ok := strings.Cut(c.GetHeader("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || len(token) > 4096 {
			unauthorized(c)
			return
		}
		claims := &appClaims{}
		if _, err := parser.ParseWithClaims(token, claims, keyFunc); err != nil {
			unauthorized(c)
			return
		}
		c.Set(claimsKey{}, claims)
		c.Next()
	}
}
