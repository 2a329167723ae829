package providers

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oidcTAge makes p's clock run d ahead of the real one.
func oidcTAge(p *oidcProvider, d time.Duration) {
	p.now = func() time.Time { return time.Now().Add(d) }
}

// oidcTDiscoveries is how many discovery documents the OP served.
func (op *oidcTOP) discoveries() int { return op.hit("openid-configuration") }

// TestOIDCRefreshAfterInterval: a document older than refreshEvery is
// fetched again, and what changed in it is used from then on.
func TestOIDCRefreshAfterInterval(t *testing.T) {
	cases := []struct {
		name   string
		change func(op *oidcTOP)
		// before holds while the first document is used, after once the
		// new one is.
		before, after func(t *testing.T, op *oidcTOP, p *oidcProvider)
	}{
		{"token_endpoint moved",
			func(op *oidcTOP) {
				op.editDoc = func(doc map[string]any) { doc["token_endpoint"] = op.srv.URL + "/v2/token" }
				ok := op.tokenOK(op.idTokenLocked(), "Bearer")
				op.token = func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/v2/token" {
						oidcTWriteJSON(w, http.StatusGone, map[string]any{"error": "server_error"})
						return
					}
					ok(w, r)
				}
			},
			func(t *testing.T, _ *oidcTOP, p *oidcProvider) {
				_, err := oidcTSignIn(t, p)
				require.ErrorIs(t, err, ErrProviderUnavailable)
			},
			func(t *testing.T, _ *oidcTOP, p *oidcProvider) {
				_, err := oidcTSignIn(t, p)
				require.NoError(t, err)
			}},
		{"authorization_endpoint moved",
			func(op *oidcTOP) {
				op.editDoc = func(doc map[string]any) { doc["authorization_endpoint"] = op.srv.URL + "/v2/authorize" }
			},
			func(t *testing.T, op *oidcTOP, p *oidcProvider) { oidcTCheckAuthURL(t, p, op.srv.URL+"/authorize") },
			func(t *testing.T, op *oidcTOP, p *oidcProvider) { oidcTCheckAuthURL(t, p, op.srv.URL+"/v2/authorize") }},
		{"RFC 9207 iss parameter turned on",
			func(op *oidcTOP) { op.issParam = true },
			func(t *testing.T, _ *oidcTOP, p *oidcProvider) {
				_, err := oidcTSignIn(t, p)
				require.NoError(t, err)
			},
			func(t *testing.T, op *oidcTOP, p *oidcProvider) {
				tokens := op.hit("token")
				_, err := oidcTSignIn(t, p)
				require.ErrorIs(t, err, ErrInvalidGrant)
				assert.Equal(t, tokens, op.hit("token"), "the code was sent")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			p := op.provider(t)
			p.refreshEvery = time.Hour
			op.set(tc.change)

			oidcTAge(p, 59*time.Minute)
			tc.before(t, op, p)
			assert.Equal(t, 1, op.discoveries())

			oidcTAge(p, 61*time.Minute)
			tc.after(t, op, p)
			tc.after(t, op, p)
			assert.Equal(t, 2, op.discoveries(), "one refresh, then the new document is fresh")
		})
	}
}

// TestOIDCRefreshFailureKeepsEndpoints: a refresh that fails, or brings a
// document the first discovery would refuse, keeps the configuration that
// works, and is tried again after oidcRetryDelay.
func TestOIDCRefreshFailureKeepsEndpoints(t *testing.T) {
	cases := []struct {
		name   string
		change func(op *oidcTOP)
	}{
		{"503", func(op *oidcTOP) {
			op.discovery = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
		}},
		{"not JSON", func(op *oidcTOP) {
			op.discovery = func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("<html>")) }
		}},
		{"another issuer", func(op *oidcTOP) {
			op.editDoc = func(doc map[string]any) { doc["issuer"] = "https://evil.example" }
		}},
		{"issuer with a trailing slash", func(op *oidcTOP) {
			op.editDoc = func(doc map[string]any) { doc["issuer"] = op.issuer + "/" }
		}},
		{"jwks_uri over plain http off loopback", func(op *oidcTOP) {
			op.editDoc = func(doc map[string]any) { doc["jwks_uri"] = "http://keys.example.com/jwks" }
		}},
		{"no token_endpoint", func(op *oidcTOP) {
			op.editDoc = func(doc map[string]any) { delete(doc, "token_endpoint") }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			p := op.provider(t)
			op.set(tc.change)
			signIn := func(wantDiscoveries int) {
				t.Helper()
				_, err := oidcTSignIn(t, p)
				require.NoError(t, err)
				require.NoError(t, p.Check(t.Context()))
				assert.Equal(t, wantDiscoveries, op.discoveries())
			}

			age := oidcRefreshInterval + time.Second
			oidcTAge(p, age)
			signIn(2)
			signIn(2) // the failure is remembered

			age += oidcRetryDelay + time.Second
			oidcTAge(p, age)
			signIn(3)

			op.set(func(op *oidcTOP) { op.discovery, op.editDoc = nil, nil })
			age += oidcRetryDelay + time.Second
			oidcTAge(p, age)
			signIn(4)
			signIn(4) // refreshed: fresh for another day
		})
	}
}

// TestOIDCSigningAlgorithmChange: the issuer moves from RS256 to ES256.
// The first sign-in after the move fails and brings discovery forward;
// the next works. Repeated failures discover again at most once a minute.
func TestOIDCSigningAlgorithmChange(t *testing.T) {
	k := oidcTKeySet()
	op := oidcTNewOP(t)
	op.algs = []string{"RS256"}
	p := op.provider(t)
	_, err := oidcTSignIn(t, p)
	require.NoError(t, err)

	ecOnly := map[string]any{"keys": oidcTJWKS()["keys"].([]map[string]any)[1:]}
	op.set(func(op *oidcTOP) {
		op.algs = []string{"ES256"}
		op.jwks = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, 200, ecOnly) }
		op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodES256, k.ec, "ec1", op.defaultClaims()) }
	})
	_, err = oidcTSignIn(t, p)
	require.ErrorIs(t, err, ErrInvalidGrant)
	assert.NotErrorIs(t, err, ErrProviderUnavailable)
	assert.Contains(t, err.Error(), "ES256", "the error is the verifier's")
	assert.Equal(t, 2, op.discoveries())

	_, err = oidcTSignIn(t, p)
	require.NoError(t, err, "healed without waiting for the refresh interval")
	assert.Equal(t, 2, op.discoveries())

	t.Run("at most once a minute", func(t *testing.T) {
		// The issuer signs with RS256 again but still advertises ES256.
		op.set(func(op *oidcTOP) { op.idToken = nil })
		failures := func(wantDiscoveries int) {
			t.Helper()
			for range 5 {
				_, err := oidcTSignIn(t, p)
				require.ErrorIs(t, err, ErrInvalidGrant)
			}
			assert.Equal(t, wantDiscoveries, op.discoveries())
		}
		failures(2)
		oidcTAge(p, oidcEarlyRefreshDelay+time.Second)
		failures(3)
		oidcTAge(p, 2*oidcEarlyRefreshDelay+2*time.Second)
		failures(4)
	})
	t.Run("algorithms never accepted do not count", func(t *testing.T) {
		pub := k.rsa.PublicKey
		op.set(func(op *oidcTOP) {
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodHS256, pub.N.Bytes(), "rsa1", op.defaultClaims()) }
		})
		oidcTAge(p, 10*oidcEarlyRefreshDelay)
		_, err := oidcTSignIn(t, p)
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Equal(t, 4, op.discoveries())
	})
}

// TestOIDCKeyRotation: a new kid at the same jwks_uri is go-oidc's
// RemoteKeySet fetching the JWKS again, without discovery; a kid the JWKS
// lacks even then (jwks_uri moved) brings discovery forward.
func TestOIDCKeyRotation(t *testing.T) {
	k := oidcTKeySet()
	rotated := map[string]any{"keys": []map[string]any{oidcTRSAJWK("rsa2", &k.other.PublicKey)}}
	signRotated := func(op *oidcTOP) {
		op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodRS256, k.other, "rsa2", op.defaultClaims()) }
	}
	cases := []struct {
		name   string
		change func(op *oidcTOP)
		// firstFails is whether the first sign-in after the change fails.
		firstFails      bool
		wantDiscoveries int
	}{
		{"new kid at the same jwks_uri", func(op *oidcTOP) {
			signRotated(op)
			op.jwks = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, 200, rotated) }
		}, false, 1},
		{"jwks_uri moved", func(op *oidcTOP) {
			signRotated(op)
			op.editDoc = func(doc map[string]any) { doc["jwks_uri"] = op.srv.URL + "/moved/jwks" }
			op.jwks = func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved/jwks" {
					oidcTWriteJSON(w, 200, rotated)
					return
				}
				oidcTWriteJSON(w, 200, oidcTJWKS())
			}
		}, true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			p := op.provider(t)
			_, err := oidcTSignIn(t, p)
			require.NoError(t, err)
			require.Equal(t, 1, op.hit("jwks"))

			op.set(tc.change)
			_, err = oidcTSignIn(t, p)
			if tc.firstFails {
				require.ErrorIs(t, err, ErrInvalidGrant)
				_, err = oidcTSignIn(t, p)
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantDiscoveries, op.discoveries())
		})
	}
}

// oidcTWait waits a few seconds at most for a value from ch, or for ch to
// be closed.
func oidcTWait[V any](t *testing.T, ch <-chan V, what string) V {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero V
		return zero
	}
}

// TestOIDCRefreshConcurrent: while a refresh runs, one discovery request
// is made and only the caller that started it waits.
func TestOIDCRefreshConcurrent(t *testing.T) {
	// start returns a provider whose document is due for refresh, and the
	// OP, whose discovery answers, with a moved authorization_endpoint,
	// once release is called; started is closed when it is asked.
	start := func(t *testing.T) (op *oidcTOP, p *oidcProvider, started chan struct{}, release func()) {
		op = oidcTNewOP(t)
		p = op.provider(t)
		started, held := make(chan struct{}), make(chan struct{})
		asked := sync.OnceFunc(func() { close(started) })
		release = sync.OnceFunc(func() { close(held) })
		t.Cleanup(release) // before the OP closes
		op.set(func(op *oidcTOP) {
			op.editDoc = func(doc map[string]any) { doc["authorization_endpoint"] = op.srv.URL + "/v2/authorize" }
			doc := op.docLocked()
			op.discovery = func(w http.ResponseWriter, _ *http.Request) {
				asked()
				<-held
				oidcTWriteJSON(w, 200, doc)
			}
		})
		oidcTAge(p, oidcRefreshInterval+time.Second)
		return op, p, started, release
	}
	// others runs callers while the refresh is held and checks that none
	// waits for it.
	others := func(t *testing.T, op *oidcTOP, p *oidcProvider) {
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				if i%2 == 0 {
					_, errs[i] = oidcTSignIn(t, p)
					return
				}
				oidcTCheckAuthURL(t, p, op.srv.URL+"/authorize")
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		oidcTWait(t, done, "callers that should not wait for the refresh")
		for _, err := range errs {
			assert.NoError(t, err)
		}
	}

	t.Run("the first caller waits for the new document", func(t *testing.T) {
		op, p, started, release := start(t)
		first := make(chan string, 1)
		go func() {
			e, err := p.endpoints(t.Context())
			if assert.NoError(t, err) {
				first <- e.endpoint.AuthURL
			}
			close(first)
		}()
		oidcTWait(t, started, "the refresh to start")
		others(t, op, p)
		release()
		assert.Equal(t, op.srv.URL+"/v2/authorize", oidcTWait(t, first, "the first caller"))
		oidcTCheckAuthURL(t, p, op.srv.URL+"/v2/authorize")
		assert.Equal(t, 2, op.discoveries())
	})
	t.Run("the first caller gives up: the refresh goes on", func(t *testing.T) {
		op, p, started, release := start(t)
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan string, 1)
		go func() {
			e, err := p.endpoints(ctx)
			if assert.NoError(t, err, "a working configuration is not an error") {
				first <- e.endpoint.AuthURL
			}
			close(first)
		}()
		oidcTWait(t, started, "the refresh to start")
		cancel()
		assert.Equal(t, op.srv.URL+"/authorize", oidcTWait(t, first, "the first caller to give up"))
		others(t, op, p)
		release()
		assert.Eventually(t, func() bool {
			e, err := p.endpoints(t.Context())
			return err == nil && e.endpoint.AuthURL == op.srv.URL+"/v2/authorize"
		}, 10*time.Second, 10*time.Millisecond)
		assert.Equal(t, 2, op.discoveries())
	})
}
