package ginauth

import (
	"context"
	"fmt"
	"time"
)

// Rate is a rate limit: at most Limit requests per Period, in a burst or
// spread out (a token bucket refilled at Limit/Period). A negative Limit
// disables the limit; the zero Rate means the default of its field.
type Rate struct {
	Limit  int
	Period time.Duration
}

// Unlimited disables one limit of RateLimits.
var Unlimited = Rate{Limit: -1}

// RateLimits are the limits on the routes that an attacker can use to guess
// passwords or tokens, or to send mail. Per-IP limits answer 429
// TOO_MANY_REQUESTS with Retry-After; the per-address mail limit drops the
// mail silently, so the answer stays 202 and reveals nothing.
//
// The client IP is gin's c.ClientIP(), bucketed per /64 for IPv6.
//
// WARNING: c.ClientIP() believes X-Forwarded-For from the proxies the engine
// trusts, and gin.Default() and gin.New() trust EVERY proxy until the app
// calls r.SetTrustedProxies. With that default, any client picks its own IP
// by sending a new X-Forwarded-For with each request, and the per-IP limits
// stop nothing. Call r.SetTrustedProxies(nil) when clients connect directly,
// or list the addresses of your load balancers, as ginauth's example does
// (or set r.TrustedPlatform, e.g. gin.PlatformCloudflare, behind a CDN).
type RateLimits struct {
	// LoginPerIP limits POST /login per client IP. Default 30 per minute.
	LoginPerIP Rate
	// LoginPerAccount limits POST /login per email, and the check of the
	// current password by PATCH and DELETE /users/me per user, from the
	// same budget. Default 10 per 15 minutes.
	LoginPerAccount Rate
	// RegisterPerIP limits POST /register per client IP. Default 20 per hour.
	RegisterPerIP Rate
	// RegisterPerAddress limits POST /register per email. Default 5 per hour.
	RegisterPerAddress Rate
	// MailPerIP limits POST /forgot-password and /request-verify-token per
	// client IP. Default 20 per hour.
	MailPerIP Rate
	// MailPerAddress caps the mails those routes send to one address.
	// Default 3 per hour.
	MailPerAddress Rate
	// TokenPerIP limits POST /verify and /reset-password per client IP.
	// Default 30 per 10 minutes.
	TokenPerIP Rate
}

// RateLimiter counts requests per key. NewMemoryRateLimiter (the default)
// counts in this process; NewRedisRateLimiter shares the counts between
// every instance of the app.
type RateLimiter interface {
	// Allow takes one request from key's budget under rate. When the budget
	// is spent it returns false and how long until a request is allowed.
	Allow(ctx context.Context, key string, rate Rate) (allowed bool, retryAfter time.Duration, err error)
}

// RateLimiterFunc adapts a function to the RateLimiter interface.
type RateLimiterFunc func(ctx context.Context, key string, rate Rate) (bool, time.Duration, error)

// Allow calls f.
func (f RateLimiterFunc) Allow(ctx context.Context, key string, rate Rate) (bool, time.Duration, error) {
	return f(ctx, key, rate)
}

// defaultRateLimits are the defaults documented in RateLimits.
var defaultRateLimits = RateLimits{
	LoginPerIP:         Rate{Limit: 30, Period: time.Minute},
	LoginPerAccount:    Rate{Limit: 10, Period: 15 * time.Minute},
	RegisterPerIP:      Rate{Limit: 20, Period: time.Hour},
	RegisterPerAddress: Rate{Limit: 5, Period: time.Hour},
	MailPerIP:          Rate{Limit: 20, Period: time.Hour},
	MailPerAddress:     Rate{Limit: 3, Period: time.Hour},
	TokenPerIP:         Rate{Limit: 30, Period: 10 * time.Minute},
}

// withDefaults returns l with every zero Rate replaced by its default.
func (l RateLimits) withDefaults() RateLimits {
	d := defaultRateLimits
	for _, f := range []struct{ dst, def *Rate }{
		{&l.LoginPerIP, &d.LoginPerIP},
		{&l.LoginPerAccount, &d.LoginPerAccount},
		{&l.RegisterPerIP, &d.RegisterPerIP},
		{&l.RegisterPerAddress, &d.RegisterPerAddress},
		{&l.MailPerIP, &d.MailPerIP},
		{&l.MailPerAddress, &d.MailPerAddress},
		{&l.TokenPerIP, &d.TokenPerIP},
	} {
		if *f.dst == (Rate{}) {
			*f.dst = *f.def
		}
	}
	return l
}

// validate checks every limit of l; call it after withDefaults.
func (l RateLimits) validate() error {
	for _, f := range []struct {
		name string
		rate Rate
	}{
		{"LoginPerIP", l.LoginPerIP},
		{"LoginPerAccount", l.LoginPerAccount},
		{"RegisterPerIP", l.RegisterPerIP},
		{"RegisterPerAddress", l.RegisterPerAddress},
		{"MailPerIP", l.MailPerIP},
		{"MailPerAddress", l.MailPerAddress},
		{"TokenPerIP", l.TokenPerIP},
	} {
		if err := f.rate.validate("RateLimits." + f.name); err != nil {
			return err
		}
	}
	return nil
}

// validate refuses a rate that cannot be enforced: a positive Limit needs a
// positive Period, and a zero Limit (with a Period) would refuse every
// request forever, which is never what was meant. name names the setting in
// the error. A negative Limit (Unlimited) is always valid.
func (r Rate) validate(name string) error {
	switch {
	case r.Limit < 0:
		return nil
	case r.Limit == 0:
		return fmt.Errorf("ginauth: %s has Limit 0; use a positive Limit, or ginauth.Unlimited to disable it", name)
	case r.Period <= 0:
		return fmt.Errorf("ginauth: %s has Limit %d but Period %v; Period must be positive", name, r.Limit, r.Period)
	}
	return nil
}

// gcraParams are the emission interval of rate (the time one request
// "costs") and its window (Limit intervals, at most Period): a key is
// refused while its theoretical arrival time is more than window ahead of
// now. Both are at least one unit of the given resolution.
func gcraParams(rate Rate, unit time.Duration) (interval, window int64) {
	interval = int64(rate.Period/unit) / int64(rate.Limit)
	if interval < 1 {
		interval = 1
	}
	return interval, interval * int64(rate.Limit)
}
