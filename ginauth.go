// Package ginauth is the authentication kit for Gin: email/password
// accounts, sessions with rotating refresh tokens, JWT access tokens and the
// RequireAuth middleware, on a GORM store.
//
// The two-line use reads its configuration from the environment (see FromEnv):
//
//	ginauth.Register(r.Group("/auth"))
//	ginauth.RegisterUsers(r.Group("/users"))
//	api := r.Group("/api", ginauth.RequireAuth())
//
// For explicit configuration, build an *Auth with New and use its methods,
// or install it as the default with Setup.
//
// Where things live: this file holds Config, New and the default
// instance; middleware.go RequireAuth; tokens.go and token_*.go access
// tokens; sessions.go refresh tokens and revocation; password_routes.go,
// verify_reset.go and account_tokens.go the /auth account routes;
// oauth_*.go the OAuth routes (providers/ the providers); users_*.go and
// account_updates.go the /users routes; store*.go and models.go the GORM
// store; mail*.go mail; rate_limit*.go and client_ip.go rate limits;
// revocation_*.go the cross-instance revocation bus; hooks.go Hooks;
// errors.go every error code and the one place errors become HTTP.
package ginauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth/providers"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
)

// Config configures an Auth. The zero value of every field but Secret means
// the documented default; New refuses insecure values with an error that
// says what to change.
type Config struct {
	// Secret signs access tokens (HS256, with the secret itself, so other
	// services holding it can verify them). At least 32 bytes. When empty
	// outside GIN_MODE=release, New generates a random development secret
	// and logs a warning: tokens then die with the process.
	Secret string
	// PreviousSecrets are still accepted for verification during a rotation.
	PreviousSecrets []string
	// SigningKey, when set, signs access tokens instead of Secret: an
	// ed25519.PrivateKey (EdDSA), *ecdsa.PrivateKey on P-256 (ES256) or
	// *rsa.PrivateKey of at least 2048 bits (RS256). Its public key is
	// published at /.well-known/jwks.json; its kid is its RFC 7638 thumbprint.
	SigningKey crypto.Signer
	// PreviousKeys are public keys still accepted (and published) during a
	// key rotation.
	PreviousKeys []crypto.PublicKey

	// BaseURL is the public URL of the app. Default http://localhost:8080;
	// must be https in GIN_MODE=release.
	BaseURL string
	// Issuer is the `iss` of access tokens. Default: BaseURL.
	Issuer string
	// Audience is the `aud` of access tokens. Default "ginauth".
	Audience string

	// Store keeps users and sessions. Default: OpenStore(DatabaseURL).
	Store Store
	// DatabaseURL is used when Store is nil. Default sqlite://ginauth.db.
	DatabaseURL string

	// AccessTokenTTL is the lifetime of access tokens. Default 15 minutes.
	AccessTokenTTL time.Duration
	// SessionIdleTimeout ends a session not refreshed for this long.
	// Default 30 days.
	SessionIdleTimeout time.Duration
	// SessionMaxLifetime ends every session this long after sign-in,
	// refreshed or not. Default 90 days.
	SessionMaxLifetime time.Duration
	// SessionCheckInterval bounds how long this instance trusts that a
	// session is live before asking the store again, i.e. how late a
	// revocation made by another instance takes effect here. A revocation
	// made by this instance takes effect at once. Default 5 seconds.
	SessionCheckInterval time.Duration
	// ClockSkew is the leeway allowed on exp and iat. Default 10 seconds.
	ClockSkew time.Duration
	// TokenCacheSize bounds the cache of verified access tokens.
	// Default 10000; negative disables the cache.
	TokenCacheSize int

	// Providers are the OAuth / OpenID Connect providers users can sign in
	// with; Register mounts their routes. Names must be unique.
	Providers []providers.Provider
	// TrustedOrigins are the origins ("https://app.example.com") that
	// `redirect_to` may point at after an OAuth sign-in, compared as parsed
	// scheme, host and port. Wildcards are refused.
	TrustedOrigins []string
	// Transport is how tokens reach clients: TransportBearer (default,
	// JSON bodies and the Authorization header) or TransportCookie
	// (HttpOnly cookies with CSRF protection). With the cookie transport,
	// TrustedOrigins are also the origins allowed to send unsafe requests
	// besides BaseURL's.
	Transport Transport
	// AssociateByEmail links an OAuth sign-in to an existing user with the
	// same email, but only when the provider verified the email and the
	// local user is verified too. Off by default.
	AssociateByEmail bool

	// RequireVerified refuses login (LOGIN_USER_NOT_VERIFIED) to users who
	// have not verified their email.
	RequireVerified bool
	// TokenScopes returns the scopes put in a user's access tokens, at
	// sign-in and at every refresh.
	TokenScopes func(ctx context.Context, user *User) []string
	// Hooks are called after account events; see Hooks.
	Hooks Hooks

	// Mailer sends the verify and reset links and the account notices.
	// Default: NewLogMailer(Logger), which only logs them.
	Mailer Mailer
	// MailTemplates replace some or all of DefaultMailTemplates.
	MailTemplates MailTemplates
	// VerifyURL is the link mailed to verify an address; "{token}" is
	// replaced by the verify token, which the page then POSTs to /verify.
	// Default BaseURL + "/verify?token={token}". Links are built from
	// configuration only, never from the request's Host.
	VerifyURL string
	// ResetPasswordURL is the link mailed to reset a password, as VerifyURL.
	// Default BaseURL + "/reset-password?token={token}".
	ResetPasswordURL string
	// VerifyTokenTTL is how long a verify link works. Default 24 hours.
	VerifyTokenTTL time.Duration
	// ResetPasswordTokenTTL is how long a reset link works. Default 1 hour.
	ResetPasswordTokenTTL time.Duration

	// RateLimiter counts requests for RateLimits. Default: in this process
	// (NewMemoryRateLimiter); use NewRedisRateLimiter when several
	// instances serve the app.
	RateLimiter RateLimiter
	// RateLimits are the limits of the login, register, mail and token
	// routes; zero fields take their defaults.
	RateLimits RateLimits
	// RevocationBus, when set, announces ended sessions to the other
	// instances of the app at once (NewRedisRevocationBus); without it
	// they learn within SessionCheckInterval.
	RevocationBus RevocationBus

	// MaxBodyBytes caps request bodies. Default 64 KiB.
	MaxBodyBytes int64
	// MaxConcurrentHashes bounds password hashing running at once.
	// Default 2 × GOMAXPROCS.
	MaxConcurrentHashes int
	// Argon2 are the password hashing costs. Default DefaultArgon2Params.
	Argon2 Argon2Params

	// Logger receives ginauth's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Auth is a configured authentication kit. It is safe for concurrent use.
type Auth struct {
	cfg            Config
	store          Store
	closeStore     func() error
	keys           *keySet
	parser         *jwt.Parser
	tokenCache     *tokenCache
	liveness       *livenessCache
	livenessChecks singleflight.Group
	hasher         *passwordHasher
	logger         *slog.Logger
	devSecret      bool
	routes         routeBook
	refreshKeys    [][]byte // tag refresh tokens; [0] is current
	stateSealer    *sealer  // OAuth state cookies
	tokenSealer    *sealer  // provider tokens at rest
	trustedOrigins []origin
	baseOrigin     origin // of BaseURL, for the CSRF origin check
	providers      map[string]providers.Provider
	providerList   []providers.Provider // in configuration order
	verifyTokens   *accountTokenKind    // mailed verify links
	resetTokens    *accountTokenKind    // mailed reset links
	mailTemplates  mailRenderer         // cfg.MailTemplates over the defaults, checked
	rateLimitKey   []byte               // keys the rate limiter's buckets
	background     backgroundWork
}

// minSecretBytes is the shortest HMAC secret accepted.
const minSecretBytes = 32

// placeholderSecrets are values copied from documentation that must never
// sign real tokens.
var placeholderSecrets = []string{"secret", "changeme", "change-me", "change_me", "your-secret", "your_secret", "yoursecret", "supersecret", "super-secret", "mysecret", "replace-me", "replaceme", "example", "password", "xxxxxxxx"}

// placeholderPhrases are instructions to replace the value, found in the
// secrets of tutorials and .env templates ("your-super-secret-jwt-key-
// change-this-in-production-2024!"). A secret holding one, separators
// ignored, is refused however varied it is: each is at least 7 letters, so
// a random secret holds one with a probability below one in a billion.
var placeholderPhrases = []string{"changeme", "changethis", "replaceme", "replacethis", "replacewith", "yoursecret", "yoursuper", "yourjwt", "yourkey", "placeholder", "insecure", "inproduction", "forproduction", "fordevelopment", "developmentonly", "notsecret"}

// placeholderSeparators are ignored when looking for placeholderPhrases.
var placeholderSeparators = strings.NewReplacer("-", "", "_", "", " ", "", ".", "")

// New validates cfg, fills its defaults and opens the store.
func New(cfg Config) (*Auth, error) {
	a := &Auth{}
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	a.logger = cfg.Logger
	a.background.start()
	if cfg.Secret == "" {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		cfg.Secret = string(secret)
		a.devSecret = true
		a.logger.Warn("ginauth: GINAUTH_SECRET is not set; generated a random DEVELOPMENT signing key. " +
			"Tokens will not survive a restart. Set a secret of at least 32 bytes before deploying.")
	}
	a.cfg = cfg

	previous := make([][]byte, len(cfg.PreviousSecrets))
	for i, s := range cfg.PreviousSecrets {
		previous[i] = []byte(s)
	}
	keys, err := newKeySet([]byte(cfg.Secret), previous, cfg.SigningKey, cfg.PreviousKeys)
	if err != nil {
		return nil, err
	}
	a.keys = keys
	secrets := append([][]byte{[]byte(cfg.Secret)}, previous...)
	for _, s := range secrets {
		a.refreshKeys = append(a.refreshKeys, deriveKey(s, "refresh-token"))
	}
	if a.stateSealer, err = newSealer(secrets, "oauth-state"); err != nil {
		return nil, err
	}
	if a.tokenSealer, err = newSealer(secrets, "provider-tokens"); err != nil {
		return nil, err
	}
	a.verifyTokens = newAccountTokenKind(secrets, "verify", cfg.VerifyTokenTTL)
	a.resetTokens = newAccountTokenKind(secrets, "reset-password", cfg.ResetPasswordTokenTTL)
	if a.mailTemplates, err = cfg.MailTemplates.compile(); err != nil {
		return nil, err
	}
	a.rateLimitKey = deriveKey([]byte(cfg.Secret), "rate-limit")
	a.parser = a.newAccessTokenParser()
	a.tokenCache = newTokenCache(cfg.TokenCacheSize)
	a.liveness = newLivenessCache(cfg.SessionCheckInterval, cfg.AccessTokenTTL+cfg.ClockSkew, 100_000)
	if a.hasher, err = newPasswordHasher(cfg.Argon2, cfg.MaxConcurrentHashes); err != nil {
		return nil, err
	}

	if base, err := url.Parse(cfg.BaseURL); err == nil {
		a.baseOrigin, _ = originOf(base)
	}
	for _, raw := range cfg.TrustedOrigins {
		o, err := parseOrigin(raw)
		if err != nil {
			return nil, err
		}
		a.trustedOrigins = append(a.trustedOrigins, o)
	}
	if err := a.setProviders(cfg.Providers); err != nil {
		return nil, err
	}

	a.store = cfg.Store
	if a.store == nil {
		store, err := OpenStore(context.Background(), cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		a.store, a.closeStore = store, store.Close
	}
	if cfg.RevocationBus != nil {
		a.listenForRevocations(cfg.RevocationBus, busRetry{})
	}
	return a, nil
}

// applyDefaults fills the zero fields and refuses insecure values.
func (cfg *Config) applyDefaults() error {
	release := gin.Mode() == gin.ReleaseMode
	if err := checkSecret(cfg.Secret, release); err != nil {
		return err
	}
	for i, s := range cfg.PreviousSecrets {
		if s == "" {
			return fmt.Errorf("ginauth: PreviousSecrets[%d] is empty; remove it", i)
		}
		if err := checkSecret(s, true); err != nil {
			return fmt.Errorf("ginauth: a previous secret: %w", err)
		}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost:8080"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("ginauth: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if release && base.Scheme != "https" {
		return fmt.Errorf("ginauth: BaseURL %q must use https in release mode (GIN_MODE=release)", cfg.BaseURL)
	}
	if cfg.Transport != TransportBearer && cfg.Transport != TransportCookie {
		return fmt.Errorf("ginauth: Transport %d is neither TransportBearer nor TransportCookie", cfg.Transport)
	}
	setDefault(&cfg.Issuer, cfg.BaseURL)
	setDefault(&cfg.Audience, "ginauth")
	setDefault(&cfg.DatabaseURL, "sqlite://ginauth.db")
	setDefault(&cfg.AccessTokenTTL, 15*time.Minute)
	setDefault(&cfg.SessionIdleTimeout, 30*24*time.Hour)
	setDefault(&cfg.SessionMaxLifetime, 90*24*time.Hour)
	setDefault(&cfg.SessionCheckInterval, 5*time.Second)
	setDefault(&cfg.ClockSkew, 10*time.Second)
	setDefault(&cfg.TokenCacheSize, 10_000)
	setDefault(&cfg.MaxBodyBytes, 64<<10)
	setDefault(&cfg.MaxConcurrentHashes, 2*runtime.GOMAXPROCS(0))
	setDefault(&cfg.Argon2, DefaultArgon2Params)
	setDefault(&cfg.Logger, slog.Default())
	if cfg.Mailer == nil {
		cfg.Mailer = NewLogMailer(cfg.Logger)
	}
	if cfg.RateLimiter == nil {
		cfg.RateLimiter = NewMemoryRateLimiter()
	}
	setDefault(&cfg.VerifyURL, cfg.BaseURL+"/verify?token={token}")
	setDefault(&cfg.ResetPasswordURL, cfg.BaseURL+"/reset-password?token={token}")
	setDefault(&cfg.VerifyTokenTTL, 24*time.Hour)
	setDefault(&cfg.ResetPasswordTokenTTL, time.Hour)
	cfg.RateLimits = cfg.RateLimits.withDefaults()
	if err := cfg.RateLimits.validate(); err != nil {
		return err
	}
	for _, link := range []string{cfg.VerifyURL, cfg.ResetPasswordURL} {
		if err := checkLinkTemplate(link); err != nil {
			return err
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.VerifyTokenTTL < 0 || cfg.ResetPasswordTokenTTL < 0 || cfg.AccessTokenTTL < 0 || cfg.SessionIdleTimeout < 0 || cfg.SessionMaxLifetime < 0 || cfg.SessionCheckInterval < 0 || cfg.ClockSkew < 0 {
		return errors.New("ginauth: durations in Config must not be negative")
	}
	if cfg.AccessTokenTTL > time.Hour {
		return errors.New("ginauth: AccessTokenTTL must be at most one hour: access tokens outlive a logout until they expire on other instances")
	}
	if cfg.Argon2.MemoryKiB < 8*1024 || cfg.Argon2.Iterations < 1 || cfg.Argon2.Parallelism < 1 || cfg.Argon2.SaltLength < 16 || cfg.Argon2.KeyLength < 16 {
		return errors.New("ginauth: Argon2 parameters are below the OWASP minimum (8 MiB, 1 pass, 16-byte salt and key)")
	}
	return nil
}

// checkSecret refuses short and placeholder secrets, and a missing one in
// release mode.
func checkSecret(secret string, required bool) error {
	if secret == "" {
		if required {
			return errors.New("ginauth: a Secret (GINAUTH_SECRET) of at least 32 bytes is required in release mode (GIN_MODE=release)")
		}
		return nil
	}
	if len(secret) < minSecretBytes {
		return fmt.Errorf("ginauth: Secret is %d bytes; use at least %d random bytes (e.g. `openssl rand -base64 48`)", len(secret), minSecretBytes)
	}
	lower := strings.ToLower(secret)
	// Distinct bytes, ASCII letters folded. Not runes: strings.ToLower turns
	// every invalid UTF-8 byte of a raw binary secret into U+FFFD, which
	// made random 32-byte secrets look repetitive.
	distinct := map[byte]bool{}
	for i := 0; i < len(secret); i++ {
		b := secret[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		distinct[b] = true
	}
	for _, p := range placeholderSecrets {
		if strings.Contains(lower, p) && len(distinct) < 20 {
			return errors.New("ginauth: Secret looks like a placeholder; use random bytes (e.g. `openssl rand -base64 48`)")
		}
	}
	joined := placeholderSeparators.Replace(lower)
	for _, p := range placeholderPhrases {
		if strings.Contains(joined, p) {
			return errors.New("ginauth: Secret looks like a placeholder; use random bytes (e.g. `openssl rand -base64 48`)")
		}
	}
	if len(distinct) < 8 {
		return errors.New("ginauth: Secret has too little variety to be random; use random bytes (e.g. `openssl rand -base64 48`)")
	}
	return nil
}

// setDefault sets *field to value when it is the zero value.
func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// Store returns the store in use.
func (a *Auth) Store() Store { return a.store }

// Config returns the configuration in use, defaults filled in. Its secrets
// are redacted, so it can be logged: Secret reads "(redacted)",
// PreviousSecrets and SigningKey are nil and the password of DatabaseURL
// is masked.
func (a *Auth) Config() Config {
	cfg := a.cfg
	cfg.Secret, cfg.PreviousSecrets, cfg.SigningKey = "(redacted)", nil, nil
	if strings.Contains(cfg.DatabaseURL, "@") || strings.Contains(strings.ToLower(cfg.DatabaseURL), "password") {
		cfg.DatabaseURL = redactURL(cfg.DatabaseURL)
	}
	return cfg
}

// UsesDevelopmentSecret reports whether New generated the signing secret
// because none was configured.
func (a *Auth) UsesDevelopmentSecret() bool { return a.devSecret }

// Close stops the background work, then releases the store when New
// opened it. Mail queued before Close gets up to 30 seconds to go out;
// what is left then is dropped, and so is mail queued after Close. Close
// ends the RevocationBus subscription and returns once every background
// goroutine has.
func (a *Auth) Close() error {
	a.stopBackground()
	if a.closeStore == nil {
		return nil
	}
	return a.closeStore()
}

func (a *Auth) now() time.Time { return a.cfg.Now() }

// The default instance, for ginauth.RequireAuth() and friends.
var (
	defaultMu   sync.Mutex
	defaultAuth *Auth
)

// Setup builds an Auth from cfg and makes it the default instance used by
// the package-level functions. It replaces any previous default.
func Setup(cfg Config) error {
	a, err := New(cfg)
	if err != nil {
		return err
	}
	defaultMu.Lock()
	defaultAuth = a
	defaultMu.Unlock()
	return nil
}

// Default returns the default instance, building it on first use from the
// environment (FromEnv) unless Setup was called. It panics when that
// configuration is invalid: the app cannot start safely.
func Default() *Auth {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultAuth == nil {
		cfg, err := FromEnv()
		if err == nil {
			defaultAuth, err = New(cfg)
		}
		if err != nil {
			panic(fmt.Sprintf("ginauth: the default instance cannot start: %v", err))
		}
	}
	return defaultAuth
}

// RequireAuth is Default().RequireAuth.
func RequireAuth(opts ...Option) gin.HandlerFunc { return Default().RequireAuth(opts...) }

// OptionalAuth is Default().OptionalAuth.
func OptionalAuth() gin.HandlerFunc { return Default().OptionalAuth() }

// Register is Default().Register.
func Register(g *gin.RouterGroup) { Default().Register(g) }

// RegisterUsers is Default().RegisterUsers.
func RegisterUsers(g *gin.RouterGroup) { Default().RegisterUsers(g) }
