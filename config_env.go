package ginauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ginauth/ginauth/providers"
)

// FromEnv reads the Config of the example app's environment (see
// API-CONTRACT.md): GINAUTH_SECRET, GINAUTH_BASE_URL,
// GINAUTH_DATABASE_URL, GINAUTH_TRUSTED_ORIGINS (comma-separated),
// GINAUTH_ASSOCIATE_BY_EMAIL, GINAUTH_TRANSPORT (bearer or cookie),
// GINAUTH_SMTP_URL, GINAUTH_REDIS_URL, and the providers: GITHUB_CLIENT_ID /
// GITHUB_CLIENT_SECRET (GITHUB_BASE_URL for GitHub Enterprise Server),
// GOOGLE_*, DISCORD_*, and OIDC_ISSUER / OIDC_CLIENT_ID /
// OIDC_CLIENT_SECRET (OIDC_NAME) for any OpenID Connect provider. Unset
// variables keep their defaults.
//
// GINAUTH_SMTP_URL (smtp://user:pass@host:port, STARTTLS when the server
// offers it, or smtps:// for implicit TLS; see NewSMTPMailer) sets Mailer.
// The sender is no-reply@ followed by the host of the base URL, unless the
// URL carries a percent-encoded from parameter, for example
// smtp://user:pass@mail.example.com:587?from=Example%20%3Cno-reply%40example.com%3E;
// that parameter is removed before the URL reaches NewSMTPMailer. Unset,
// Mailer stays nil and New logs every mail instead (NewLogMailer).
//
// GINAUTH_REDIS_URL (redis://[user:password@]host:port/db or rediss://)
// sets RateLimiter to OpenRedisRateLimiter's limiter, which does not
// connect until its first use, and RevocationBus to a RedisRevocationBus
// on the same client, so every instance hears of ended sessions at once.
// The Auth does not own that client: New and Close leave it alone, so the
// caller closes it (a *RedisRateLimiter) when the process no longer needs
// it.
//
// Errors name the variable and never quote a password.
func FromEnv() (Config, error) {
	cfg := Config{
		Secret:      os.Getenv("GINAUTH_SECRET"),
		BaseURL:     strings.TrimSpace(os.Getenv("GINAUTH_BASE_URL")),
		DatabaseURL: strings.TrimSpace(os.Getenv("GINAUTH_DATABASE_URL")),
	}
	cfg.TrustedOrigins = splitList(os.Getenv("GINAUTH_TRUSTED_ORIGINS"))
	if raw := strings.TrimSpace(os.Getenv("GINAUTH_ASSOCIATE_BY_EMAIL")); raw != "" {
		on, err := strconv.ParseBool(raw)
		if err != nil {
			return Config{}, fmt.Errorf("GINAUTH_ASSOCIATE_BY_EMAIL must be true or false, not %q", raw)
		}
		cfg.AssociateByEmail = on
	}
	var err error
	if cfg.Transport, err = parseTransport(os.Getenv("GINAUTH_TRANSPORT")); err != nil {
		return Config{}, err
	}
	if cfg.Providers, err = providersFromEnv(); err != nil {
		return Config{}, err
	}
	if cfg.DatabaseURL != "" {
		if _, err := dialectorFor(cfg.DatabaseURL); err != nil {
			return Config{}, fmt.Errorf("GINAUTH_DATABASE_URL: %w", err)
		}
	}
	if raw := strings.TrimSpace(os.Getenv("GINAUTH_SMTP_URL")); raw != "" {
		if cfg.Mailer, err = smtpMailerFromEnv(raw, cfg.BaseURL); err != nil {
			return Config{}, fmt.Errorf("GINAUTH_SMTP_URL: %w", err)
		}
	}
	// Last: nothing after it may fail, or the limiter's client would leak.
	if raw := strings.TrimSpace(os.Getenv("GINAUTH_REDIS_URL")); raw != "" {
		limiter, err := openRedisLimiterFromEnv(raw)
		if err != nil {
			return Config{}, fmt.Errorf("GINAUTH_REDIS_URL: %w", err)
		}
		cfg.RateLimiter = limiter
		cfg.RevocationBus = NewRedisRevocationBus(limiter.client)
	}
	return cfg, nil
}

// smtpMailerFromEnv makes the Mailer of GINAUTH_SMTP_URL: its from query
// parameter, when present, is the sender and is removed from the URL;
// otherwise the sender is no-reply@ the host of baseURL.
func smtpMailerFromEnv(raw, baseURL string) (Mailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, the password with it.
		return nil, errors.New("invalid SMTP URL (percent-encode special characters in the user and password)")
	}
	query := u.Query()
	from := strings.TrimSpace(query.Get("from"))
	if query.Has("from") {
		query.Del("from")
		u.RawQuery = query.Encode()
	}
	if from == "" {
		if baseURL == "" {
			baseURL = "http://localhost:8080" // New's default
		}
		host := "localhost"
		if base, err := url.Parse(baseURL); err == nil && base.Hostname() != "" {
			host = base.Hostname()
		}
		from = "no-reply@" + host
	}
	mailer, err := NewSMTPMailer(u.String(), from)
	if err != nil {
		return nil, redactPassword(err, u)
	}
	return mailer, nil
}

// openRedisLimiterFromEnv opens the RateLimiter of GINAUTH_REDIS_URL.
func openRedisLimiterFromEnv(raw string) (*RedisRateLimiter, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, the password with it.
		return nil, errors.New("invalid Redis URL (percent-encode special characters in the user and password)")
	}
	limiter, err := OpenRedisRateLimiter(raw)
	if err != nil {
		return nil, redactPassword(err, u)
	}
	return limiter, nil
}

// redactPassword returns err, or, when its text quotes the password of u
// (raw or percent-encoded), an error with the same text where the password
// is replaced by "xxxxx".
func redactPassword(err error, u *url.URL) error {
	pass, _ := u.User.Password()
	return redactSecret(err, pass)
}

// splitList splits a comma-separated variable, dropping empty entries.
func splitList(raw string) []string {
	var out []string
	for _, part := range strings.Split(raw, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// providersFromEnv builds the providers whose client id and secret are set.
// A provider with only one of the two is an error, not silently off.
func providersFromEnv() ([]providers.Provider, error) {
	var list []providers.Provider
	pair := func(prefix string) (id, secret string, ok bool, err error) {
		id, secret = strings.TrimSpace(os.Getenv(prefix+"_CLIENT_ID")), os.Getenv(prefix+"_CLIENT_SECRET")
		if (id == "") != (secret == "") {
			return "", "", false, fmt.Errorf("%s_CLIENT_ID and %s_CLIENT_SECRET must be set together", prefix, prefix)
		}
		return id, secret, id != "", nil
	}
	if id, secret, ok, err := pair("GITHUB"); err != nil {
		return nil, err
	} else if ok {
		var opts []providers.Option
		if base := strings.TrimSpace(os.Getenv("GITHUB_BASE_URL")); base != "" {
			if !providers.SecureIssuer(base) {
				return nil, fmt.Errorf("GITHUB_BASE_URL %q must be an https URL (plain http only on a loopback host, for development)", base)
			}
			opts = append(opts, providers.WithBaseURL(base))
		}
		list = append(list, providers.GitHub(id, secret, opts...))
	}
	if id, secret, ok, err := pair("GOOGLE"); err != nil {
		return nil, err
	} else if ok {
		list = append(list, providers.Google(id, secret))
	}
	if id, secret, ok, err := pair("DISCORD"); err != nil {
		return nil, err
	} else if ok {
		list = append(list, providers.Discord(id, secret))
	}
	if id, secret, ok, err := pair("OIDC"); err != nil {
		return nil, err
	} else if ok {
		issuer := strings.TrimSpace(os.Getenv("OIDC_ISSUER"))
		if issuer == "" {
			return nil, errors.New("OIDC_ISSUER must be set with OIDC_CLIENT_ID")
		}
		if !providers.SecureIssuer(issuer) {
			return nil, fmt.Errorf("OIDC_ISSUER %q must be an https URL (plain http only on a loopback host, for development)", issuer)
		}
		var opts []providers.Option
		if name := strings.TrimSpace(os.Getenv("OIDC_NAME")); name != "" {
			opts = append(opts, providers.WithName(name))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list = append(list, providers.OIDC(ctx, issuer, id, secret, opts...)) // discovery is retried on use if it fails now
	}
	return list, nil
}
