// Command example runs the whole ginauth kit with no setup at all:
//
//	go run ./example
//
// It listens on :8080 with a SQLite file ginauth.db in the working
// directory. The environment variables of API-CONTRACT.md change that.
//
//	go run ./example createsuperuser --email admin@example.com
//
// creates a verified superuser in the same database.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// run serves the app, or runs the subcommand that args name.
func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		if args[0] == "createsuperuser" {
			return createSuperuser(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
		}
		return fmt.Errorf("unknown command %q; usage: example [createsuperuser --email EMAIL]", args[0])
	}
	return serve(ctx)
}

// serve runs the app until ctx ends.
func serve(ctx context.Context) error {
	cfg, err := ginauth.FromEnv()
	if err != nil {
		return err
	}
	defer closeRateLimiter(cfg)
	auth, router, err := newApp(cfg, os.Getenv("GINAUTH_TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	defer auth.Close() // waits for the mail being sent
	if auth.UsesDevelopmentSecret() {
		fmt.Fprint(os.Stderr, developmentKeyWarning)
	}
	if len(cfg.Providers) == 0 {
		fmt.Fprint(os.Stderr, noProvidersHint)
	}
	for _, p := range cfg.Providers {
		fmt.Printf("ginauth example: sign in with %s at %s/auth/%s/authorize\n", p.DisplayName(), auth.Config().BaseURL, p.Name())
	}
	fmt.Println("ginauth example:", mailerDescription(os.Getenv("GINAUTH_SMTP_URL")))
	if cfg.RateLimiter != nil {
		fmt.Println("ginauth example: rate limits and revocations: shared through Redis (GINAUTH_REDIS_URL)")
	}

	addr := envOr("GINAUTH_ADDR", ":8080")
	srv := &http.Server{Addr: addr, Handler: router, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("ginauth example listening", "url", auth.Config().BaseURL, "addr", addr)
	fmt.Printf("ginauth example: listening on %s, try %s/auth/register\n", addr, auth.Config().BaseURL)

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	}
	return nil
}

// newApp opens the Auth of cfg and mounts it on the example's router. The
// caller closes the Auth; cfg.RateLimiter stays the caller's too.
func newApp(cfg ginauth.Config, trustedProxies string) (*ginauth.Auth, *gin.Engine, error) {
	auth, err := ginauth.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	router, err := newRouter(auth, trustedProxies)
	if err != nil {
		_ = auth.Close()
		return nil, nil, err
	}
	return auth, router, nil
}

// closeRateLimiter closes the Redis client that FromEnv opened for
// GINAUTH_REDIS_URL: the Auth does not own it.
func closeRateLimiter(cfg ginauth.Config) {
	if c, ok := cfg.RateLimiter.(io.Closer); ok {
		_ = c.Close()
	}
}

// mailerDescription says where mail goes, for the start-up banner: the
// SMTP server's host:port, never its credentials.
func mailerDescription(smtpURL string) string {
	smtpURL = strings.TrimSpace(smtpURL)
	if smtpURL == "" {
		return "mail: logged (set GINAUTH_SMTP_URL=smtp://user:pass@host:587 to send)"
	}
	u, err := url.Parse(smtpURL)
	if err != nil { // FromEnv refused it already
		return "mail: SMTP"
	}
	port := u.Port()
	if port == "" {
		port = "587"
		if u.Scheme == "smtps" {
			port = "465"
		}
	}
	return "mail: SMTP to " + net.JoinHostPort(u.Hostname(), port)
}

// indexPage is the small page at / for trying the kit in a browser.
//
//go:embed index.html
var indexPage []byte

// verifyPage and resetPasswordPage are the pages the mailed links open
// (Config.VerifyURL and Config.ResetPasswordURL, by default
// <BaseURL>/verify?token=... and <BaseURL>/reset-password?token=...).
// Their script reads the token from the address, drops it from there and
// POSTs it; the HTML never contains it.
var (
	//go:embed verify.html
	verifyPage []byte
	//go:embed reset-password.html
	resetPasswordPage []byte
)

// tokenPageCSP allows the page's own inline script and style and requests
// to this origin, nothing else: no external resource, no framing, no form
// submitted without the script.
const tokenPageCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveTokenPage answers with a page whose address carries a token: never
// cached, never sent on as a Referer.
func serveTokenPage(page []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", tokenPageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page)
	}
}

// newRouter mounts the kit: /auth, /users, one protected route, GET /api/me,
// a page at / to try them, and the pages of the mailed links, /verify and
// /reset-password.
//
// trustedProxies lists the proxies whose X-Forwarded-For is believed. Empty,
// none is: gin.New trusts every proxy by default, which would let any
// client name its own IP and escape the per-IP rate limits.
func newRouter(auth *ginauth.Auth, trustedProxies string) (*gin.Engine, error) {
	r := gin.New()
	r.Use(gin.LoggerWithFormatter(logLine), gin.Recovery())
	proxies := splitList(trustedProxies)
	if len(proxies) == 0 {
		proxies = nil // SetTrustedProxies(nil): trust no proxy
	}
	if err := r.SetTrustedProxies(proxies); err != nil {
		return nil, fmt.Errorf("GINAUTH_TRUSTED_PROXIES: %w", err)
	}
	r.GET("/", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", indexPage) })
	r.GET("/verify", serveTokenPage(verifyPage))
	r.GET("/reset-password", serveTokenPage(resetPasswordPage))
	auth.Register(r.Group("/auth"))
	auth.RegisterUsers(r.Group("/users"))
	api := r.Group("/api", auth.RequireAuth())
	api.GET("/me", func(c *gin.Context) {
		user, err := ginauth.CurrentUser(c)
		switch {
		case errors.Is(err, ginauth.ErrNoUser): // deactivated or deleted since the token was issued
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": ginauth.CodeUnauthorized})
			return
		case err != nil: // the store is down: the token may well be good
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"detail": ginauth.CodeServiceUnavailable})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": user.ID, "email": user.Email})
	})
	return r, nil
}

// logLine is gin's request log line without the query string's values, so
// that the tokens of /verify?token=... and /reset-password?token=... stay
// out of the log.
func logLine(p gin.LogFormatterParams) string {
	path := p.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i] + "?…"
	}
	return fmt.Sprintf("[GIN] %v | %3d | %13v | %15s | %-7s %q\n%s",
		p.TimeStamp.Format("2006/01/02 - 15:04:05"), p.StatusCode, p.Latency, p.ClientIP, p.Method, path, p.ErrorMessage)
}

// splitList splits a comma-separated variable; empty gives an empty list.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

const developmentKeyWarning = `
################################################################################
#  WARNING: GINAUTH_SECRET is not set.                                         #
#  A random DEVELOPMENT signing key was generated for this run. Access tokens  #
#  will stop working when the process restarts. Never run like this in         #
#  production: set GINAUTH_SECRET to at least 32 random bytes, for example     #
#      export GINAUTH_SECRET="$(openssl rand -base64 48)"                      #
################################################################################

`

const noProvidersHint = `ginauth example: no OAuth provider is configured. To add "sign in with ...", set for example
    GITHUB_CLIENT_ID / GITHUB_CLIENT_SECRET    (GITHUB_BASE_URL for GitHub Enterprise Server)
    GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET
    DISCORD_CLIENT_ID / DISCORD_CLIENT_SECRET
    OIDC_ISSUER / OIDC_CLIENT_ID / OIDC_CLIENT_SECRET (OIDC_NAME)   any OpenID Connect provider
and register the callback URL <GINAUTH_BASE_URL>/auth/<provider>/callback with the provider.

`
