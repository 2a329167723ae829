// Command example runs the whole ginauth kit with no setup at all:
//
//	go run ./example
//
// It listens on :8080 with a SQLite file ginauth.db in the working
// directory. The environment variables of API-CONTRACT.md change that.
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := ginauth.FromEnv()
	if err != nil {
		return err
	}
	auth, err := ginauth.New(cfg)
	if err != nil {
		return err
	}
	defer auth.Close()
	if auth.UsesDevelopmentSecret() {
		fmt.Fprint(os.Stderr, developmentKeyWarning)
	}
	if len(cfg.Providers) == 0 {
		fmt.Fprint(os.Stderr, noProvidersHint)
	}
	for _, p := range cfg.Providers {
		fmt.Printf("ginauth example: sign in with %s at %s/auth/%s/authorize\n", p.DisplayName(), auth.Config().BaseURL, p.Name())
	}

	router, err := newRouter(auth, os.Getenv("GINAUTH_TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	addr := envOr("GINAUTH_ADDR", ":8080")
	srv := &http.Server{Addr: addr, Handler: router, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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

// indexPage is the small page at / for trying the kit in a browser.
//
//go:embed index.html
var indexPage []byte

// newRouter mounts the kit: /auth, /users, one protected route, GET /api/me,
// and a page at / to try them.
func newRouter(auth *ginauth.Auth, trustedProxies string) (*gin.Engine, error) {
	r := gin.New()
	r.Use(gin.Logger(), gin.Recovery())
	if err := r.SetTrustedProxies(splitList(trustedProxies)); err != nil {
		return nil, fmt.Errorf("GINAUTH_TRUSTED_PROXIES: %w", err)
	}
	r.GET("/", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", indexPage) })
	auth.Register(r.Group("/auth"))
	auth.RegisterUsers(r.Group("/users"))
	api := r.Group("/api", auth.RequireAuth())
	api.GET("/me", func(c *gin.Context) {
		user, err := ginauth.CurrentUser(c)
		if err != nil {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": ginauth.CodeUnauthorized})
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": user.ID, "email": user.Email})
	})
	return r, nil
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
