package ginauth

import (
	"context"
	"errors"
	"net/http"
)

// sendMail renders a mail of kind to the address to and delivers it. A
// failure is logged: the mail is lost, the request that caused it has been
// answered already or will be without waiting for it.
func (a *Auth) sendMail(ctx context.Context, kind MailKind, to string, data MailData) {
	data.Email, data.AppURL = to, a.cfg.BaseURL
	m, err := a.mailTemplates.render(kind, data)
	if err == nil {
		err = a.cfg.Mailer.SendMail(ctx, m)
	}
	if err != nil {
		a.logger.ErrorContext(ctx, "ginauth: mail not sent", "kind", string(kind), "error", err)
	}
}

// linkMail is what tells the verify mail and the reset mail apart.
type linkMail struct {
	kind   MailKind
	tokens *accountTokenKind
	url    string // Config.VerifyURL or Config.ResetPasswordURL
	hook   func(ctx context.Context, user *User, token string, r *http.Request)
}

// verifyLinkMail is the mail of a verify link.
func (a *Auth) verifyLinkMail() linkMail {
	return linkMail{MailVerify, a.verifyTokens, a.cfg.VerifyURL, a.cfg.Hooks.OnAfterRequestVerify}
}

// resetLinkMail is the mail of a reset-password link.
func (a *Auth) resetLinkMail() linkMail {
	return linkMail{MailResetPassword, a.resetTokens, a.cfg.ResetPasswordURL, a.cfg.Hooks.OnAfterForgotPassword}
}

// mailVerifyLink queues the mail of a verify link to user (see
// deliverLink). The link goes to user.Email as it is now: a later email
// change kills the token.
func (a *Auth) mailVerifyLink(ctx context.Context, user *User, r *http.Request) {
	u := *user
	a.queueMail(ctx, "verify link", func(ctx context.Context) { a.deliverLink(ctx, a.verifyLinkMail(), &u, r) })
}

// mailLinkByEmail queues a job that looks up the user with this email,
// which must be canonical (CanonicalEmail), and, when that user exists, is
// active and wanted by want (nil wants every one), delivers m to them.
// The lookup runs in the job, so that the caller takes the same time
// whether the address has an account or not.
func (a *Auth) mailLinkByEmail(ctx context.Context, m linkMail, email string, want func(*User) bool, r *http.Request) {
	name := string(m.kind) + " link by email"
	a.queueMail(ctx, name, func(ctx context.Context) {
		user, err := a.store.UserByEmail(ctx, email)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				a.logger.ErrorContext(ctx, "ginauth: mail lookup failed", "job", name, "error", err)
			}
			return
		}
		if user.IsActive && (want == nil || want(user)) {
			a.deliverLink(ctx, m, user, r)
		}
	})
}

// deliverLink issues a token of m's kind for user, runs m's hook and mails
// the link to user.Email, unless the address already had its share of
// mail (RateLimits.MailPerAddress). It runs in a mail job.
func (a *Auth) deliverLink(ctx context.Context, m linkMail, user *User, r *http.Request) {
	if !a.allowQuietly(ctx, "mail-address", a.cfg.RateLimits.MailPerAddress, user.Email) {
		a.logger.InfoContext(ctx, "ginauth: mail dropped: too many for this address", "kind", string(m.kind), "user_id", user.ID)
		return
	}
	token, err := a.issueAccountToken(m.tokens, user)
	if err != nil {
		a.logger.ErrorContext(ctx, "ginauth: account token not made", "kind", string(m.kind), "error", err)
		return
	}
	if m.hook != nil {
		m.hook(ctx, user, token, r)
	}
	a.sendMail(ctx, m.kind, user.Email, MailData{Link: accountLink(m.url, token), ValidFor: m.tokens.ttl})
}

// mailNotice queues a notice (password or email changed).
func (a *Auth) mailNotice(ctx context.Context, kind MailKind, to string, data MailData) {
	a.queueMail(ctx, string(kind)+" notice", func(ctx context.Context) { a.sendMail(ctx, kind, to, data) })
}
