package ginauth

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// maxIDsPerMessage bounds one message of the bus, in both directions.
const maxIDsPerMessage = 1000

// RedisRevocationBus is a RevocationBus on Redis pub/sub: every instance
// of the app that shares the Redis server and the Channel hears every
// other's ended sessions.
type RedisRevocationBus struct {
	// Channel is the pub/sub channel; apps sharing one Redis server use
	// one channel each. Default "ginauth:revocations".
	Channel string

	client redis.UniversalClient
}

// NewRedisRevocationBus returns a RedisRevocationBus on client, which the
// caller keeps and closes.
func NewRedisRevocationBus(client redis.UniversalClient) *RedisRevocationBus {
	return &RedisRevocationBus{Channel: "ginauth:revocations", client: client}
}

// Publish implements RevocationBus: the ids go out in messages of at most
// maxIDsPerMessage comma-separated ids.
func (b *RedisRevocationBus) Publish(ctx context.Context, sessionIDs []uuid.UUID) error {
	for len(sessionIDs) > 0 {
		n := min(len(sessionIDs), maxIDsPerMessage)
		parts := make([]string, n)
		for i, id := range sessionIDs[:n] {
			parts[i] = id.String()
		}
		if err := b.client.Publish(ctx, b.Channel, strings.Join(parts, ",")).Err(); err != nil {
			return err
		}
		sessionIDs = sessionIDs[n:]
	}
	return nil
}

// Subscribe implements RevocationBus. Malformed ids in a message are
// skipped.
func (b *RedisRevocationBus) Subscribe(ctx context.Context, ended func(sessionIDs []uuid.UUID)) error {
	sub := b.client.Subscribe(ctx, b.Channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	messages := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-messages:
			if !ok {
				return errors.New("ginauth: revocation channel closed")
			}
			if ids := parseSessionIDs(msg.Payload); len(ids) > 0 {
				ended(ids)
			}
		}
	}
}

// parseSessionIDs reads a message of comma-separated session ids.
func parseSessionIDs(payload string) []uuid.UUID {
	parts := strings.SplitN(payload, ",", maxIDsPerMessage+1)
	ids := make([]uuid.UUID, 0, min(len(parts), maxIDsPerMessage))
	for _, part := range parts[:min(len(parts), maxIDsPerMessage)] {
		if id, err := uuid.Parse(part); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
