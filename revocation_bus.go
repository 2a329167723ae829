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
	a.liveness.markDeadAll(ids, now)
	if a.cfg.RevocationBus == nil || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := a.cfg.RevocationBus.Publish(ctx, ids); err != nil {
		a.logger.WarnContext(ctx, "ginauth: ended sessions not announced to the other instances", "sessions", len(ids), "error", err)
	}
}

// busRetry is how listenForRevocations spaces its attempts to subscribe
// again: the wait doubles from first up to max while subscriptions keep
// failing, and starts again from first after one that lasted healthy.
// Zero fields mean 100 ms, 30 s and one minute.
type busRetry struct{ first, max, healthy time.Duration }

// next is the wait before the next attempt, after a subscription that
// lasted this long and the previous wait (0 before the first).
func (r busRetry) next(previous, lasted time.Duration) time.Duration {
	setDefault(&r.first, 100*time.Millisecond)
	setDefault(&r.max, 30*time.Second)
	setDefault(&r.healthy, time.Minute)
	if previous == 0 || lasted >= r.healthy {
		return r.first
	}
	return min(2*previous, r.max)
}

// listenForRevocations keeps a subscription to the bus until Close, marking
// every announced session dead in the liveness cache.
func (a *Auth) listenForRevocations(bus RevocationBus, retry busRetry) {
	a.goBackground("revocation bus subscription", func(ctx context.Context) {
		ended := func(ids []uuid.UUID) { a.liveness.markDeadAll(ids, a.now()) }
		var wait time.Duration
		for ctx.Err() == nil {
			started := time.Now()
			err := bus.Subscribe(ctx, ended)
			if ctx.Err() != nil {
				return
			}
			wait = retry.next(wait, time.Since(started))
			a.logger.Warn("ginauth: revocation bus subscription failed; retrying", "error", err, "retry_in", wait)
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
	})
}
