package ginauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	client := openTestRedis(t)
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

// TestBusRetryNext proves the retry schedule: the wait doubles up to max
// while subscriptions fail at once, and starts again from first after one
// that lasted healthy.
func TestBusRetryNext(t *testing.T) {
	r := busRetry{first: time.Second, max: 4 * time.Second, healthy: time.Minute}
	for _, tc := range []struct {
		name             string
		previous, lasted time.Duration
		want             time.Duration
	}{
		{"first failure", 0, 0, time.Second},
		{"doubles", time.Second, time.Millisecond, 2 * time.Second},
		{"capped", 4 * time.Second, 0, 4 * time.Second},
		{"resets after a healthy subscription", 4 * time.Second, time.Minute, time.Second},
		{"short of healthy", 2 * time.Second, time.Minute - time.Second, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, r.next(tc.previous, tc.lasted)) })
	}
	assert.Equal(t, 100*time.Millisecond, busRetry{}.next(0, 0), "zero fields take the defaults")
	assert.Equal(t, 30*time.Second, busRetry{}.next(20*time.Second, 0))
}

// scriptedBus is a RevocationBus whose subscriptions follow a script: each
// attempt announces ended, lasts lasts[i] and fails; after the script it
// holds until its context ends.
type scriptedBus struct {
	ended    []uuid.UUID
	lasts    []time.Duration
	attempts atomic.Int32
}

func (b *scriptedBus) Publish(context.Context, []uuid.UUID) error { return nil }

func (b *scriptedBus) Subscribe(ctx context.Context, ended func([]uuid.UUID)) error {
	n := int(b.attempts.Add(1)) - 1
	if n >= len(b.lasts) {
		<-ctx.Done()
		return nil
	}
	ended(b.ended)
	time.Sleep(b.lasts[n])
	return errors.New("connection lost")
}

// TestRevocationListenerRetries proves the subscription loop with a fake
// bus: announced sessions are marked dead, a failed subscription is retried
// with a growing wait that starts again after one that worked for a while,
// and Close ends the loop.
func TestRevocationListenerRetries(t *testing.T) {
	logs := &syncBuffer{}
	a := newTestAuth(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	id := uuid.New()
	healthy := 100 * time.Millisecond
	bus := &scriptedBus{ended: []uuid.UUID{id}, lasts: []time.Duration{0, 0, healthy, 0}}
	a.listenForRevocations(bus, busRetry{first: time.Millisecond, max: time.Second, healthy: healthy})
	require.Eventually(t, func() bool { return bus.attempts.Load() == 5 }, 10*time.Second, time.Millisecond)
	live, ok := a.liveness.get(id, uuid.New(), a.now())
	assert.True(t, ok && !live, "the announced session is dead here")
	var waits []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if _, wait, found := strings.Cut(line, "retry_in="); found {
			waits = append(waits, wait)
		}
	}
	assert.Equal(t, []string{"1ms", "2ms", "1ms", "2ms"}, waits, "the third subscription worked for a while: the wait starts again")
	require.NoError(t, a.Close())
	assert.EqualValues(t, 5, bus.attempts.Load(), "Close ended the subscription")
}
