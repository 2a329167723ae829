package ginauth

import (
	"context"
	"net/http"
	"time"
)

// mailTimeout bounds one background mail job: the store lookup, the hooks
// and the delivery.
const mailTimeout = time.Minute

// maxMailJobs bounds the mail jobs running at once; more wait their turn.
const maxMailJobs = 16

// inBackground runs job after the response, with a context that outlives
// the request (its values kept, its cancellation not) and ends after
// mailTimeout. Close waits for every job.
func (a *Auth) inBackground(ctx context.Context, job func(ctx context.Context)) {
	a.background.Add(1)
	go func() {
		defer a.background.Done()
		a.mailSlots <- struct{}{}
		defer func() { <-a.mailSlots }()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
		defer cancel()
		job(ctx)
	}()
}

// sendMail renders a mail of kind to the address to and delivers it. A
// failure is logged: the mail is lost, the request that caused it has been
// answered already.
func (a *Auth) sendMail(ctx context.Context, kind MailKind, to string, data MailData) {
	data.Email, data.AppURL = to, a.cfg.BaseURL
	m, err := a.mailTemplates.Render(kind, data)
	if err == nil {
		err = a.mailer.SendMail(ctx, m)
	}
	if err != nil {
		a.logger.ErrorContext(ctx, "ginauth: mail not sent", "kind", string(kind), "error", err)
	}
}

// mailVerifyLink makes a verify token for user, runs OnAfterRequestVerify
// and mails the link to the user's email, in the background. The link goes
// to user.Email as it is now: a later email change kills the token.
func (a *Auth) mailVerifyLink(ctx context.Context, user *User, r *http.Request) {
	u := *user
	a.inBackground(ctx, func(ctx context.Context) { a.deliverVerifyLink(ctx, &u, r) })
}

// deliverVerifyLink is mailVerifyLink's job.
func (a *Auth) deliverVerifyLink(ctx context.Context, user *User, r *http.Request) {
	if !a.allowQuietly(ctx, "mail-address", a.limits.MailPerAddress, user.Email) {
		a.logger.InfoContext(ctx, "ginauth: verify mail dropped: too many for this address", "user_id", user.ID)
		return
	}
	token, err := a.issueAccountToken(a.verifyTokens, user)
	if err != nil {
		a.logger.ErrorContext(ctx, "ginauth: verify token not made", "error", err)
		return
	}
	if a.cfg.Hooks.OnAfterRequestVerify != nil {
		a.cfg.Hooks.OnAfterRequestVerify(ctx, user, token, r)
	}
	a.sendMail(ctx, MailVerify, user.Email, MailData{Link: accountLink(a.cfg.VerifyURL, token), ValidFor: a.verifyTokens.ttl})
}

// mailNotice mails a notice (password or email changed) in the background.
func (a *Auth) mailNotice(ctx context.Context, kind MailKind, to string, data MailData) {
	a.inBackground(ctx, func(ctx context.Context) { a.sendMail(ctx, kind, to, data) })
}
