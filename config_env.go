package ginauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ginauth/ginauth/providers"
)

// FromEnv reads the Config of the example app's environment (see
// API-CONTRACT.md): GINAUTH_SECRET, GINAUTH_BASE_URL,
// GINAUTH_DATABASE_URL, GINAUTH_TRUSTED_ORIGINS (comma-separated),
// GINAUTH_ASSOCIATE_BY_EMAIL, GINAUTH_TRANSPORT (bearer or cookie), and the providers: GITHUB_CLIENT_ID /
// GITHUB_CLIENT_SECRET (GITHUB_BASE_URL for GitHub Enterprise Server),
// GOOGLE_*, DISCORD_*, and OIDC_ISSUER / OIDC_CLIENT_ID /
// OIDC_CLIENT_SECRET (OIDC_NAME) for any OpenID Connect provider. Unset
// variables keep their defaults.
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
	return cfg, nil
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
