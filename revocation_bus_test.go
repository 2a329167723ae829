package ginauth

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisTestClient connects to GINAUTH_TEST_REDIS_URL or skips the test.
func redisTestClient(t *testing.T) *redis.Client {
	t.Helper()
	raw := os.Getenv("GINAUTH_TEST_REDIS_URL")
	if raw == "" {
		t.Skip("set GINAUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the Redis revocation bus tests")
	}
	opts, err := redis.ParseURL(raw)
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// waitForSubscribers waits until n subscribers listen on channel.
func waitForSubscribers(t *testing.T, client *redis.Client, channel string, n int64) {
	t.Helper()
	require.Eventually(t, func() bool {
		counts, err := client.PubSubNumSub(context.Background(), channel).Result()
		return err == nil && counts[channel] >= n
	}, 10*time.Second, 10*time.Millisecond, "subscribers on %s", channel)
}

// TestRevocationBusEndsSessionsEverywhere proves the point of the bus: two
// instances share a database and a Redis server, and trust a live session
// for an hour (SessionCheckInterval); a logout, a password reset's
// revocation and a user deletion on the first instance end the tokens on
// the second at once, not an hour later.
func TestRevocationBusEndsSessionsEverywhere(t *testing.T) {
	client := redisTestClient(t)
	channel := "ginauth:test:revocations:" + randomHex(8)
	store := openTestStore(t, "sqlite")
	instance := func() *Auth {
		bus := NewRedisRevocationBus(client)
		bus.Channel = channel
		a := newTestAuthOn(t, store, func(c *Config) {
			c.RevocationBus, c.SessionCheckInterval = bus, time.Hour
		})
		t.Cleanup(func() { _ = a.Close() })
		return a
	}
	first, second := instance(), instance()
	waitForSubscribers(t, client, channel, 2)
	srvFirst, srvSecond := newTestServer(t, first), newTestServer(t, second)
	ctx := context.Background()

	alive := func(token string) bool {
		return do(t, srvSecond, http.MethodGet, "/api/me", nil, token).Status == http.StatusOK
	}
	waitDead := func(token, why string) {
		t.Helper()
		require.Eventually(t, func() bool { return !alive(token) }, 5*time.Second, 10*time.Millisecond, why)
	}

	t.Run("logout", func(t *testing.T) {
		pair := registerAndLogin(t, srvFirst, "bus-logout@example.com", lifecyclePassword)
		require.True(t, alive(pair.AccessToken), "the second instance now trusts the session for an hour")
		require.Equal(t, http.StatusNoContent, do(t, srvFirst, http.MethodPost, "/auth/logout", nil, pair.AccessToken).Status)
		waitDead(pair.AccessToken, "logout on the first instance ends the token on the second")
	})
	t.Run("every session of a user", func(t *testing.T) {
		pair := registerAndLogin(t, srvFirst, "bus-all@example.com", lifecyclePassword)
		other := login(t, srvFirst, "bus-all@example.com", lifecyclePassword)
		require.True(t, alive(pair.AccessToken) && alive(other.AccessToken))
		user, err := store.UserByEmail(ctx, "bus-all@example.com")
		require.NoError(t, err)
		require.NoError(t, first.RevokeUserSessions(ctx, user.ID, uuid.Nil))
		waitDead(pair.AccessToken, "first session")
		waitDead(other.AccessToken, "second session")
	})
	t.Run("user deleted", func(t *testing.T) {
		pair := registerAndLogin(t, srvFirst, "bus-delete@example.com", lifecyclePassword)
		require.True(t, alive(pair.AccessToken))
		user, err := store.UserByEmail(ctx, "bus-delete@example.com")
		require.NoError(t, err)
		require.NoError(t, first.DeleteUser(ctx, user.ID))
		waitDead(pair.AccessToken, "deletion on the first instance")
	})
}

// TestRevocationBusWithoutRedis proves that a bus whose Redis is down
// costs a logout nothing but the announcement: the session still ends on
// this instance and in the store, and Close returns.
func TestRevocationBusWithoutRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	a := newTestAuth(t, func(c *Config) { c.RevocationBus = NewRedisRevocationBus(client) })
	srv := newTestServer(t, a)
	pair := registerAndLogin(t, srv, "bus-down@example.com", lifecyclePassword)
	require.Equal(t, http.StatusNoContent, do(t, srv, http.MethodPost, "/auth/logout", nil, pair.AccessToken).Status)
	assert.Equal(t, http.StatusUnauthorized, do(t, srv, http.MethodGet, "/api/me", nil, pair.AccessToken).Status)
	require.NoError(t, a.Close())
}

// TestParseSessionIDs proves the bus message parser skips what is not a
// session id and bounds what it reads.
func TestParseSessionIDs(t *testing.T) {
	id1, id2 := uuid.New(), uuid.New()
	assert.Equal(t, []uuid.UUID{id1, id2}, parseSessionIDs(id1.String()+",junk,,"+id2.String()))
	assert.Empty(t, parseSessionIDs(""))
	many := make([]byte, 0, 40*(maxIDsPerMessage+10))
	for range maxIDsPerMessage + 10 {
		many = append(many, id1.String()+","...)
	}
	assert.Len(t, parseSessionIDs(string(many)), maxIDsPerMessage)
}
