package ginauth

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// The bounds of the background work.
const (
	// mailTimeout bounds one mail job (the store lookup, the hooks and the
	// delivery), counted from when the job starts, not from when it was
	// queued.
	mailTimeout = time.Minute
	// mailWorkers bounds the mail jobs running at once.
	mailWorkers = 16
	// mailQueueSize bounds the mail jobs waiting for a worker; a job that
	// finds the queue full is dropped with a warning.
	mailQueueSize = 1024
	// closeGrace bounds how long Close lets queued mail finish before it
	// cancels what is left.
	closeGrace = 30 * time.Second
)

// backgroundWork is everything an Auth runs outside a request: the mail
// queue and its workers, the RevocationBus subscription. Each goroutine
// starts with goBackground, under one WaitGroup, with a context that Close
// cancels. New prepares it (start); Close ends it (stopBackground).
type backgroundWork struct {
	ctx    context.Context // cancelled by Close: every job should end
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine goBackground started

	mu      sync.Mutex
	closed  bool          // Close has begun: nothing new starts
	queue   chan mailJob  // made at the first mail
	workers int           // mail workers running
	pending int           // mail jobs queued or running
	idle    chan struct{} // closed when pending falls to 0

	// The bounds, set by start; tests shrink them before the first mail.
	maxWorkers, queueSize int
	grace                 time.Duration
}

// mailJob is one queued mail job.
type mailJob struct {
	name string
	ctx  context.Context // the caller's values, not its cancellation
	run  func(ctx context.Context)
}

// start prepares b; New calls it before anything may run in the background.
func (b *backgroundWork) start() {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.maxWorkers, b.queueSize, b.grace = mailWorkers, mailQueueSize, closeGrace
}

// Wait returns when no mail job is queued or running. Tests use it to
// flush the mail.
func (b *backgroundWork) Wait() { <-b.drained() }

// drained is closed once no mail job is queued or running.
func (b *backgroundWork) drained() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return b.idle
}

// goBackground runs fn in a goroutine that Close waits for, with a context
// Close cancels. A panic in fn is logged with the job's name, never
// crashing the process. After Close it starts nothing, logs and returns
// false.
func (a *Auth) goBackground(name string, fn func(ctx context.Context)) bool {
	b := &a.background
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		a.logger.Warn("ginauth: background job not started: Auth is closed", "job", name)
		return false
	}
	a.spawnLocked(name, fn)
	return true
}

// spawnLocked is goBackground with b.mu held and b open: Close sets closed
// under b.mu before it waits, so no Add races with its Wait.
func (a *Auth) spawnLocked(name string, fn func(ctx context.Context)) {
	b := &a.background
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		a.runJob(b.ctx, name, fn)
	}()
}

// runJob runs fn, logging a panic instead of letting it crash the process:
// no Gin recovery middleware is there to catch it.
func (a *Auth) runJob(ctx context.Context, name string, fn func(ctx context.Context)) {
	defer func() {
		if v := recover(); v != nil {
			a.logger.ErrorContext(ctx, "ginauth: background job panicked", "job", name, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn(ctx)
}

// queueMail queues job to run on a mail worker, outside the request: the
// caller never waits for it, whether its response is written yet or not.
// The job's context keeps ctx's values but not its cancellation; it ends
// mailTimeout after the job starts, or when Close gives up waiting. Mail
// is best-effort: when the queue is full, or after Close, the job is
// dropped and a warning logged.
func (a *Auth) queueMail(ctx context.Context, name string, job func(ctx context.Context)) {
	if why := a.enqueueMail(mailJob{name: name, ctx: context.WithoutCancel(ctx), run: job}); why != "" {
		a.logger.WarnContext(ctx, "ginauth: mail dropped: "+why, "job", name, "queue_size", a.background.queueSize)
	}
}

// enqueueMail is queueMail's bookkeeping, under b.mu: it returns why the
// job was dropped, or "", and starts a worker when fewer than maxWorkers
// run.
func (a *Auth) enqueueMail(job mailJob) (dropped string) {
	b := &a.background
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return "Auth is closed"
	}
	if b.queue == nil {
		b.queue = make(chan mailJob, b.queueSize)
	}
	select {
	case b.queue <- job:
	default:
		return "the mail queue is full"
	}
	if b.pending == 0 {
		b.idle = make(chan struct{})
	}
	b.pending++
	if b.workers < b.maxWorkers {
		b.workers++
		a.spawnLocked("mail worker", a.mailWorker)
	}
	return ""
}

// mailWorker runs queued mail jobs until the queue is empty, then exits:
// idle instances keep no goroutines.
func (a *Auth) mailWorker(base context.Context) {
	b := &a.background
	for {
		select {
		case job := <-b.queue:
			a.runMail(base, job)
		default:
			b.mu.Lock()
			// queueMail sends under b.mu, so the queue stays empty until
			// this worker is counted out.
			if len(b.queue) == 0 {
				b.workers--
				b.mu.Unlock()
				return
			}
			b.mu.Unlock()
		}
	}
}

// runMail runs one mail job within mailTimeout, ended early when base is.
func (a *Auth) runMail(base context.Context, job mailJob) {
	defer a.mailDone()
	if base.Err() != nil {
		a.logger.WarnContext(job.ctx, "ginauth: mail dropped: Auth closed before it was sent", "job", job.name)
		return
	}
	ctx, cancel := context.WithTimeout(job.ctx, mailTimeout)
	defer cancel()
	defer context.AfterFunc(base, cancel)()
	a.runJob(ctx, job.name, job.run)
}

// mailDone counts a mail job out.
func (a *Auth) mailDone() {
	b := &a.background
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending--
	if b.pending == 0 {
		close(b.idle)
	}
}

// stopBackground ends the background work: nothing new starts, queued
// mail gets up to b.grace to finish, then the base context is cancelled
// (ending the RevocationBus subscription and any mail left) and every
// goroutine is waited for.
func (a *Auth) stopBackground() {
	b := &a.background
	if b.cancel == nil {
		return // never started: not built by New
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	timer := time.NewTimer(b.grace)
	select {
	case <-b.drained():
	case <-timer.C:
		a.logger.Warn("ginauth: Close gave up waiting for the mail queue; the rest is dropped", "waited", b.grace)
	}
	timer.Stop()
	b.cancel()
	b.wg.Wait()
}
