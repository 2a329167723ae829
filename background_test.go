package ginauth

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldMailer is a Mailer that holds every mail until released (or until
// its context ends, which it then returns), for tests of the mail queue.
type heldMailer struct {
	started  chan time.Time // one per mail, when SendMail begins
	release  chan struct{}  // closed to let every mail through
	mu       sync.Mutex
	sent     []string             // the subjects delivered
	deadline map[string]time.Time // each mail's context deadline
	ended    []error              // the context errors of mails not delivered
}

func newHeldMailer() *heldMailer {
	return &heldMailer{started: make(chan time.Time, 100), release: make(chan struct{}), deadline: map[string]time.Time{}}
}

// SendMail implements Mailer.
func (h *heldMailer) SendMail(ctx context.Context, m *Mail) error {
	h.started <- time.Now()
	deadline, _ := ctx.Deadline()
	select {
	case <-h.release:
	case <-ctx.Done():
		h.mu.Lock()
		h.ended = append(h.ended, ctx.Err())
		h.mu.Unlock()
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sent, h.deadline[m.To] = append(h.sent, m.To), deadline
	return nil
}

func (h *heldMailer) delivered() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.sent...)
}

// waitStarted waits for the next mail to reach the Mailer.
func (h *heldMailer) waitStarted(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-h.started:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("no mail reached the Mailer")
		return time.Time{}
	}
}

// newQueueAuth builds an Auth whose mail goes to a heldMailer through a
// queue of queueSize jobs and one worker, logging to the returned buffer.
func newQueueAuth(t *testing.T, queueSize int) (*Auth, *heldMailer, *syncBuffer) {
	t.Helper()
	mailer, logs := newHeldMailer(), &syncBuffer{}
	a := newTestAuth(t, func(c *Config) {
		c.Mailer, c.Logger = mailer, slog.New(slog.NewTextHandler(logs, nil))
	})
	a.background.maxWorkers, a.background.queueSize = 1, queueSize
	t.Cleanup(func() {
		select {
		case <-mailer.release:
		default:
			close(mailer.release)
		}
		_ = a.Close()
	})
	return a, mailer, logs
}

// TestBackgroundRecoversPanickingHook proves that a hook panicking in a
// mail job, where no Gin recovery runs, is logged with the job's name and
// costs nothing else: the process lives on and later mail goes out.
func TestBackgroundRecoversPanickingHook(t *testing.T) {
	logs := &syncBuffer{}
	var panics atomic.Int32
	a, box, _, call := newLifecycleFixture(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c.Hooks.OnAfterForgotPassword = func(context.Context, *User, string, *http.Request) {
			panics.Add(1)
			panic("hook exploded")
		}
	})
	_, err := a.CreateUser(context.Background(), NewUser{Email: "panic@example.com", Password: lifecyclePassword})
	require.NoError(t, err)

	for range 3 {
		res := call(http.MethodPost, "/auth/forgot-password", map[string]string{"email": "panic@example.com"}, "")
		require.Equal(t, http.StatusAccepted, res.Status)
	}
	a.background.Wait()
	assert.EqualValues(t, 3, panics.Load())
	assert.Contains(t, logs.String(), "background job panicked")
	assert.Contains(t, logs.String(), "hook exploded")
	assert.Contains(t, logs.String(), `job="reset_password link by email"`)
	assert.Zero(t, box.count(), "the panic stopped the reset mail")

	res := call(http.MethodPost, "/auth/request-verify-token", map[string]string{"email": "panic@example.com"}, "")
	require.Equal(t, http.StatusAccepted, res.Status)
	box.waitFor(t, "panic@example.com", "verify")

	done := make(chan struct{})
	require.True(t, a.goBackground("exploding job", func(context.Context) {
		defer close(done)
		panic("boom")
	}))
	<-done
	require.Eventually(t, func() bool {
		s := logs.String()
		return strings.Contains(s, `job="exploding job"`) && strings.Contains(s, "boom")
	}, 5*time.Second, 10*time.Millisecond, "the panic is logged with the job's name")
}

// TestMailQueueDropsWhenFull proves the queue is bounded: with one worker
// busy and the queue full, a new job is dropped with a warning instead of
// waiting; and a queued job's mailTimeout counts from when it starts.
func TestMailQueueDropsWhenFull(t *testing.T) {
	a, mailer, logs := newQueueAuth(t, 1)
	ctx := context.Background()
	a.mailNotice(ctx, MailPasswordChanged, "running@example.com", MailData{})
	mailer.waitStarted(t) // the worker holds the first job
	a.mailNotice(ctx, MailPasswordChanged, "queued@example.com", MailData{})
	a.mailNotice(ctx, MailPasswordChanged, "dropped@example.com", MailData{})
	assert.Contains(t, logs.String(), "mail queue is full")
	assert.Contains(t, logs.String(), "queue_size=1")

	time.Sleep(50 * time.Millisecond) // the queued job waits...
	released := time.Now()
	close(mailer.release)
	a.background.Wait()
	assert.ElementsMatch(t, []string{"running@example.com", "queued@example.com"}, mailer.delivered())
	mailer.mu.Lock()
	defer mailer.mu.Unlock()
	assert.False(t, mailer.deadline["queued@example.com"].Before(released.Add(mailTimeout)),
		"...and its timeout starts when it runs, not when it was queued")
}

// TestCloseWaitsForQueuedMail proves that Close lets the queued mail go
// out before it returns, and that mail or work submitted after Close is
// dropped with a log, without a panic or a race.
func TestCloseWaitsForQueuedMail(t *testing.T) {
	a, mailer, logs := newQueueAuth(t, 10)
	ctx := context.Background()
	for _, to := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		a.mailNotice(ctx, MailPasswordChanged, to, MailData{})
	}
	mailer.waitStarted(t)
	closed := make(chan error)
	go func() { closed <- a.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned with mail still queued")
	case <-time.After(50 * time.Millisecond):
	}
	// Submitted while Close waits: dropped at once.
	a.mailNotice(ctx, MailPasswordChanged, "late@example.com", MailData{})
	close(mailer.release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	assert.ElementsMatch(t, []string{"one@example.com", "two@example.com", "three@example.com"}, mailer.delivered())

	a.mailNotice(ctx, MailPasswordChanged, "after@example.com", MailData{})
	a.ForgotPassword(ctx, "after@example.com")
	assert.False(t, a.goBackground("after close", func(context.Context) { t.Error("ran after Close") }))
	a.background.Wait()
	assert.Len(t, mailer.delivered(), 3)
	assert.Contains(t, logs.String(), "mail dropped: Auth is closed")
	assert.Contains(t, logs.String(), `job="after close"`)
	require.NoError(t, a.Close(), "a second Close is harmless")
}

// TestCloseBoundsQueuedMail proves that Close does not wait forever for a
// Mailer that hangs: after the grace period it cancels the job's context
// and drops what is still queued.
func TestCloseBoundsQueuedMail(t *testing.T) {
	a, mailer, logs := newQueueAuth(t, 10)
	a.background.grace = 50 * time.Millisecond
	ctx := context.Background()
	a.mailNotice(ctx, MailPasswordChanged, "stuck@example.com", MailData{})
	a.mailNotice(ctx, MailPasswordChanged, "behind@example.com", MailData{})
	mailer.waitStarted(t)
	start := time.Now()
	require.NoError(t, a.Close())
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Empty(t, mailer.delivered())
	mailer.mu.Lock()
	assert.Equal(t, []error{context.Canceled}, mailer.ended, "the running job's context was cancelled")
	mailer.mu.Unlock()
	assert.Contains(t, logs.String(), "Close gave up waiting for the mail queue")
	assert.Contains(t, logs.String(), "Auth closed before it was sent")
}
