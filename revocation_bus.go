package ginauth

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// RevocationBus carries ended sessions between the instances of an app.
// Without one, an instance learns that another ended a session (logout,
// password change, deactivation, deletion) within
// Config.SessionCheckInterval; with one, at once. NewRedisRevocationBus is
// ginauth's implementation; the store stays the source of truth, so a
// message lost while the bus is down only delays the revocation.
type RevocationBus interface {
	// Publish tells every instance that these sessions ended.
	Publish(ctx context.Context, sessionIDs []uuid.UUID) error
	// Subscribe calls ended with every batch any instance publishes,
	// this one's included, until ctx ends; then it returns nil. An error
	// means the subscription failed; the caller subscribes again.
	Subscribe(ctx context.Context, ended func(sessionIDs []uuid.UUID)) error
}

// publishTimeout bounds the announcement of ended sessions, which a
// request waits for.
const publishTimeout = time.Second

// sessionsEnded records sessions as ended on this instance and announces
// it to the others. A failed announcement is logged: the other instances
// then learn it from the store within SessionCheckInterval.
func (a *Auth) sessionsEnded(ctx context.Context, ids []uuid.UUID, now time.Time) {
	for _, id := range ids {
		a.liveness.markDead(id, now)
	}
	if a.cfg.RevocationBus == nil || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := a.cfg.RevocationBus.Publish(ctx, ids); err != nil {
		a.logger.WarnContext(ctx, "ginauth: ended sessions not announced to the other instances", "sessions", len(ids), "error", err)
	}
}

// listenForRevocations keeps a subscription to the bus until Close, marking
// every announced session dead in the liveness cache.
func (a *Auth) listenForRevocations(bus RevocationBus) {
	ctx, cancel := context.WithCancel(context.Background())
	a.stopListening = cancel
	a.listening.Add(1)
	go func() {
		defer a.listening.Done()
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := bus.Subscribe(ctx, func(ids []uuid.UUID) {
				now := a.now()
				for _, id := range ids {
					a.liveness.markDead(id, now)
				}
			})
			if ctx.Err() != nil {
				return
			}
			a.logger.Warn("ginauth: revocation bus subscription failed; retrying", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}()
}
