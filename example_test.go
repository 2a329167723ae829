package ginauth_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth"
)

// The two-line use: the default instance reads GINAUTH_SECRET,
// GINAUTH_BASE_URL and GINAUTH_DATABASE_URL from the environment (see
// FromEnv) the first time it is needed.
func Example() {
	r := gin.Default()
	ginauth.Register(r.Group("/auth"))       // /auth/register, /auth/login, /auth/refresh, /auth/logout
	ginauth.RegisterUsers(r.Group("/users")) // /users/me

	api := r.Group("/api", ginauth.RequireAuth())
	api.GET("/me", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"user_id": ginauth.UserID(c)})
	})
	if err := r.Run(":8080"); err != nil {
		log.Fatal(err)
	}
}

// New builds an instance from an explicit Config. Only the secret is
// needed in production; everything else has a safe default.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "ginauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// In production, read the secret from your secret store or from
	// GINAUTH_SECRET; never from source code. Here: 48 random bytes, as
	// `openssl rand -base64 48` makes them.
	secret := make([]byte, 48)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	auth, err := ginauth.New(ginauth.Config{
		Secret:      base64.StdEncoding.EncodeToString(secret),
		BaseURL:     "https://app.example.com",
		DatabaseURL: "sqlite://" + filepath.Join(dir, "auth.db"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	// Users can also be created from code, for example by a
	// createsuperuser command; the email is stored in canonical form.
	user, err := auth.CreateUser(context.Background(), ginauth.NewUser{
		Email: " Admin@Example.com ", Password: "correct horse battery", IsSuperuser: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.Email, user.IsActive, user.IsSuperuser)

	cfg := auth.Config() // safe to log: secrets are redacted
	fmt.Println(cfg.Issuer, cfg.Audience, cfg.AccessTokenTTL, cfg.Secret)

	// Insecure settings are refused with an error that says what to change.
	_, err = ginauth.New(ginauth.Config{Secret: "changeme"})
	fmt.Println(err)
	// Output:
	// admin@example.com true true
	// https://app.example.com ginauth 15m0s (redacted)
	// ginauth: Secret is 8 bytes; use at least 32 random bytes (e.g. `openssl rand -base64 48`)
}

// RequireAuth protects routes; inside them, UserID, ClaimsFrom and
// CurrentUser give the authenticated user. Options add requirements such
// as Superuser.
func ExampleAuth_RequireAuth() {
	auth, cleanup := newExampleAuth()
	defer cleanup()

	r := gin.New()
	auth.Register(r.Group("/auth"))
	auth.RegisterUsers(r.Group("/users"))

	api := r.Group("/api", auth.RequireAuth())
	api.GET("/me", func(c *gin.Context) {
		user, err := ginauth.CurrentUser(c) // loaded from the store once per request
		if err != nil {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": ginauth.CodeUnauthorized})
			return
		}
		claims := ginauth.ClaimsFrom(c) // the verified access token
		c.JSON(http.StatusOK, gin.H{
			"email":     user.Email,
			"same_user": ginauth.UserID(c) == user.ID, // no store query
			"fresh":     claims.Fresh,                 // true right after a sign-in with the password
		})
	})
	admin := r.Group("/admin", auth.RequireAuth(ginauth.Superuser()))
	admin.GET("/stats", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"users": 1}) })

	call := func(method, path, body, token string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}

	credentials := `{"email": "bob@example.com", "password": "correct horse battery"}`
	status, _ := call(http.MethodPost, "/auth/register", credentials, "")
	fmt.Println("register:", status)

	status, body := call(http.MethodPost, "/auth/login", credentials, "")
	var tokens ginauth.TokenResponse
	if err := json.Unmarshal([]byte(body), &tokens); err != nil {
		log.Fatal(err)
	}
	fmt.Println("login:", status, tokens.TokenType, tokens.ExpiresIn)

	fmt.Println(call(http.MethodGet, "/api/me", "", ""))
	fmt.Println(call(http.MethodGet, "/api/me", "", tokens.AccessToken))
	fmt.Println(call(http.MethodGet, "/admin/stats", "", tokens.AccessToken))
	// Output:
	// register: 201
	// login: 200 bearer 900
	// 401 {"detail":"UNAUTHORIZED"}
	// 200 {"email":"bob@example.com","fresh":true,"same_user":true}
	// 403 {"detail":"FORBIDDEN"}
}

// newExampleAuth builds an instance on a temporary SQLite database.
func newExampleAuth() (*ginauth.Auth, func()) {
	dir, err := os.MkdirTemp("", "ginauth-example")
	if err != nil {
		log.Fatal(err)
	}
	secret := make([]byte, 48)
	if _, err := rand.Read(secret); err != nil {
		log.Fatal(err)
	}
	auth, err := ginauth.New(ginauth.Config{
		Secret:      base64.StdEncoding.EncodeToString(secret),
		DatabaseURL: "sqlite://" + filepath.Join(dir, "auth.db"),
	})
	if err != nil {
		log.Fatal(err)
	}
	return auth, func() {
		_ = auth.Close()
		_ = os.RemoveAll(dir)
	}
}
