package ginauth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cacheT0 is the clock of the direct tokenCache tests.
var cacheT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// cacheClaims returns claims whose jti names the token they were cached
// under, to detect any cross-talk between entries.
func cacheClaims(token string) *Claims {
	c := &Claims{}
	c.ID = token
	return c
}

// cacheCount counts how many of tokens the cache answers at now.
func cacheCount(tc *tokenCache, tokens []string, now time.Time) int {
	n := 0
	for _, tok := range tokens {
		if _, ok := tc.get(tok, now); ok {
			n++
		}
	}
	return n
}

// TestTokenCacheExpiresAtExp proves that a cached token is answered, with
// the very claims that were stored, until its exp and never at or after it.
func TestTokenCacheExpiresAtExp(t *testing.T) {
	tc := newTokenCache(10)
	claims := cacheClaims("tok")
	exp := cacheT0.Add(time.Minute)
	tc.put("tok", claims, exp, cacheT0)

	for _, step := range []struct {
		at  time.Time
		hit bool
	}{
		{cacheT0, true},
		{exp.Add(-time.Nanosecond), true},
		{exp, false},
		{exp.Add(time.Nanosecond), false},
		{exp.Add(24 * time.Hour), false},
	} {
		got, ok := tc.get("tok", step.at)
		assert.Equal(t, step.hit, ok, "at exp%+v", step.at.Sub(exp))
		if step.hit {
			assert.Same(t, claims, got)
		} else {
			assert.Nil(t, got)
		}
	}
}

// TestTokenCacheExactKey proves that only the exact token string hits: a
// prefix, an extension or a case variant of a cached token is a miss.
func TestTokenCacheExactKey(t *testing.T) {
	tc := newTokenCache(10)
	tc.put("aaa.bbb.ccc", cacheClaims("aaa.bbb.ccc"), cacheT0.Add(time.Hour), cacheT0)
	for _, other := range []string{"aaa.bbb.cc", "aaa.bbb.ccc=", "aaa.bbb.ccC", "AAA.bbb.ccc", " aaa.bbb.ccc", ""} {
		_, ok := tc.get(other, cacheT0)
		assert.False(t, ok, "%q", other)
	}
	_, ok := tc.get("aaa.bbb.ccc", cacheT0)
	assert.True(t, ok)
}

// TestTokenCacheBounded proves that the cache never holds more than its
// size, always keeps the entry just added, and still holds a useful share
// of its size after evicting.
func TestTokenCacheBounded(t *testing.T) {
	const size = 64
	tc := newTokenCache(size)
	var tokens []string
	for i := range 1000 {
		tok := fmt.Sprintf("token-%d", i)
		tokens = append(tokens, tok)
		tc.put(tok, cacheClaims(tok), cacheT0.Add(time.Hour), cacheT0)
		got, ok := tc.get(tok, cacheT0)
		require.True(t, ok, "the entry just added is there")
		require.Equal(t, tok, got.ID)
		require.LessOrEqual(t, cacheCount(tc, tokens, cacheT0), size, "after %d puts", i+1)
	}
	assert.GreaterOrEqual(t, cacheCount(tc, tokens, cacheT0), size/2)
}

// TestTokenCacheEvictsExpiredFirst proves that when the cache is full,
// expired entries make room before any live one is dropped.
func TestTokenCacheEvictsExpiredFirst(t *testing.T) {
	const size = 16
	tc := newTokenCache(size)
	var live []string
	for i := range size / 2 {
		tc.put(fmt.Sprintf("short-%d", i), cacheClaims("short"), cacheT0.Add(time.Second), cacheT0)
		tok := fmt.Sprintf("long-%d", i)
		live = append(live, tok)
		tc.put(tok, cacheClaims(tok), cacheT0.Add(time.Hour), cacheT0)
	}
	later := cacheT0.Add(2 * time.Second)
	tc.put("new", cacheClaims("new"), cacheT0.Add(time.Hour), later)
	assert.Equal(t, len(live), cacheCount(tc, live, later), "no live entry was dropped")
	_, ok := tc.get("new", later)
	assert.True(t, ok)
}

// TestTokenCacheDisabled proves that a size of zero or less caches nothing.
func TestTokenCacheDisabled(t *testing.T) {
	for _, size := range []int{0, -1} {
		tc := newTokenCache(size)
		tc.put("tok", cacheClaims("tok"), cacheT0.Add(time.Hour), cacheT0)
		_, ok := tc.get("tok", cacheT0)
		assert.False(t, ok, "size %d", size)
	}
}

// TestTokenCacheConcurrent proves, under -race, that concurrent gets and
// puts neither race nor mix entries up, and that the bound holds.
func TestTokenCacheConcurrent(t *testing.T) {
	const size, distinct, workers, ops = 50, 200, 8, 2000
	tc := newTokenCache(size)
	tokens := make([]string, distinct)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("tok-%d", i)
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				tok := tokens[(i*7+w*13)%distinct]
				if i%3 == 0 {
					tc.put(tok, cacheClaims(tok), cacheT0.Add(time.Hour), cacheT0)
					continue
				}
				if got, ok := tc.get(tok, cacheT0); ok && got.ID != tok {
					errs <- fmt.Sprintf("%s answered with the claims of %s", tok, got.ID)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.LessOrEqual(t, cacheCount(tc, tokens, cacheT0), size)
}

// TestTokenCacheInVerifyAccessToken proves, through VerifyAccessToken, that
// a repeated token is answered from the cache (the same *Claims comes
// back), that a disabled cache verifies every time, and that the cache
// never answers for a token that fails verification.
func TestTokenCacheInVerifyAccessToken(t *testing.T) {
	sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: time.Now().Add(time.Hour)}
	t.Run("enabled", func(t *testing.T) {
		a := newTestAuth(t, nil)
		tok, _, err := a.issueAccessToken(sess, nil, true, time.Now())
		require.NoError(t, err)
		first, err := a.VerifyAccessToken(tok)
		require.NoError(t, err)
		second, err := a.VerifyAccessToken(tok)
		require.NoError(t, err)
		assert.Same(t, first, second)
		// The cached entry does not vouch for a neighbour of the token.
		last := "A"
		if tok[len(tok)-1] == 'A' {
			last = "Q"
		}
		_, err = a.VerifyAccessToken(tok[:len(tok)-1] + last)
		require.ErrorIs(t, err, ErrInvalidToken)
	})
	t.Run("disabled", func(t *testing.T) {
		a := newTestAuth(t, func(c *Config) { c.TokenCacheSize = -1 })
		tok, _, err := a.issueAccessToken(sess, nil, true, time.Now())
		require.NoError(t, err)
		first, err := a.VerifyAccessToken(tok)
		require.NoError(t, err)
		second, err := a.VerifyAccessToken(tok)
		require.NoError(t, err)
		assert.NotSame(t, first, second)
		assert.Equal(t, first.RegisteredClaims, second.RegisteredClaims)
	})
	t.Run("refused_tokens_are_not_cached", func(t *testing.T) {
		a := newTestAuth(t, nil)
		bad := atkSign(t, a.keys.signingMethod, []byte(atkOtherSecret),
			map[string]any{"typ": accessTokenType, "kid": a.keys.signingKID}, jwt.MapClaims{"sub": uuid.NewString()})
		for range 2 {
			_, err := a.VerifyAccessToken(bad)
			require.ErrorIs(t, err, ErrInvalidToken)
		}
	})
}
