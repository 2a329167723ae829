package ginauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// contextKey keys the values RequireAuth puts in the gin.Context; being
// unexported, it collides with nobody's keys.
type contextKey int

const (
	claimsKey contextKey = iota
	userKey
)

// ErrNoUser is returned by CurrentUser when the request has no
// authenticated, active user.
var ErrNoUser = errors.New("ginauth: no authenticated user")

// Option is a requirement RequireAuth adds to a valid access token.
type Option func(*requirements)

type requirements struct {
	verified  bool
	superuser bool
	fresh     bool
	scopes    []string
}

// Verified requires a user whose email is verified (read from the store).
func Verified() Option { return func(r *requirements) { r.verified = true } }

// Superuser requires a superuser. The flag is read from the store on every
// request, never trusted from the token.
func Superuser() Option { return func(r *requirements) { r.superuser = true } }

// Fresh requires a token issued by a sign-in with credentials, not by a
// refresh: use it in front of sensitive operations.
func Fresh() Option { return func(r *requirements) { r.fresh = true } }

// Scopes requires every one of the given scopes in the token's `scope` claim.
func Scopes(scopes ...string) Option {
	return func(r *requirements) { r.scopes = append(r.scopes, scopes...) }
}

// RequireAuth returns middleware that lets a request through only with a
// valid bearer access token whose session is live, plus the options'
// requirements. With TransportCookie the token may come from the access
// cookie instead of the header; an unsafe request authenticated so must
// pass the CSRF check (403 CSRF_FAILED). It answers 401 UNAUTHORIZED (one
// body for every reason) or 403 FORBIDDEN. A valid token seen before costs
// no store query and almost no allocation; Verified and Superuser load the
// user (once per request).
func (a *Auth) RequireAuth(opts ...Option) gin.HandlerFunc {
	var req requirements
	for _, opt := range opts {
		opt(&req)
	}
	return func(c *gin.Context) {
		token, sent, fromCookie := a.requestToken(c.Request)
		if !sent {
			a.abortUnauthorized(c, false)
			return
		}
		if fromCookie && isUnsafe(c.Request.Method) {
			if err := a.checkCSRF(c.Request, true); err != nil {
				a.abortWithError(c, err, "")
				return
			}
		}
		claims, ok := a.authenticate(c, token)
		if !ok {
			return
		}
		if req.fresh && !claims.Fresh {
			abortForbidden(c, false)
			return
		}
		for _, scope := range req.scopes {
			if !claims.HasScope(scope) {
				abortForbidden(c, true)
				return
			}
		}
		if req.verified || req.superuser {
			user, err := CurrentUser(c)
			if err != nil {
				a.abortCurrentUser(c, err)
				return
			}
			if (req.verified && !user.IsVerified) || (req.superuser && !user.IsSuperuser) {
				abortForbidden(c, false)
				return
			}
		}
		c.Next()
	}
}

// OptionalAuth returns middleware for routes that work with or without a
// user: a valid token sets the user as RequireAuth does; a missing or
// invalid one leaves the request anonymous (UserID is uuid.Nil).
func (a *Auth) OptionalAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, sent, fromCookie := a.requestToken(c.Request)
		if !sent || (fromCookie && isUnsafe(c.Request.Method) && a.checkCSRF(c.Request, true) != nil) {
			// A cookie that fails the CSRF check does not authenticate.
			c.Next()
			return
		}
		now := a.now()
		claims, err := a.verifyAccessToken(token, now)
		if err == nil {
			var live bool
			live, err = a.sessionLiveAt(c.Request.Context(), claims.sessionID, claims.userID, now)
			if err == nil && live {
				c.Set(claimsKey, claims)
			}
		}
		if errors.Is(err, ErrStoreUnavailable) {
			a.abortWithError(c, err, "")
			return
		}
		c.Next()
	}
}

// authenticate verifies the token and its session and stores the claims in
// the context, and returns them; on failure it has already answered. For a
// token seen before whose session was checked lately, it reads the clock
// once, looks up two in-memory caches and allocates only the gin.Context's
// Keys map (the claims carry their Auth, for CurrentUser).
func (a *Auth) authenticate(c *gin.Context, token string) (*Claims, bool) {
	now := a.now()
	claims, err := a.verifyAccessToken(token, now)
	if err != nil {
		a.abortUnauthorized(c, true)
		return nil, false
	}
	live, err := a.sessionLiveAt(c.Request.Context(), claims.sessionID, claims.userID, now)
	if err != nil {
		a.abortWithError(c, err, "")
		return nil, false
	}
	if !live {
		a.abortUnauthorized(c, true)
		return nil, false
	}
	c.Set(claimsKey, claims)
	return claims, true
}

// abortCurrentUser answers a CurrentUser failure: a vanished or inactive
// user is 401, a store failure 503.
func (a *Auth) abortCurrentUser(c *gin.Context, err error) {
	if errors.Is(err, ErrNoUser) {
		a.abortUnauthorized(c, true)
		return
	}
	a.abortWithError(c, err, "")
}

// bearerToken reads `Authorization: Bearer <token>` (scheme
// case-insensitive). sent is false when no such header is present.
func bearerToken(r *http.Request) (token string, sent bool) {
	// r.Header.Get("Authorization") without canonicalizing the key again.
	values := r.Header["Authorization"]
	if len(values) == 0 || values[0] == "" {
		return "", false
	}
	header := values[0]
	const scheme = "bearer "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", true
	}
	return strings.TrimSpace(header[len(scheme):]), true
}

// ClaimsFrom returns the verified access-token claims of the request, or
// nil when RequireAuth (or OptionalAuth) did not authenticate it. The
// claims are shared: do not modify them.
func ClaimsFrom(c *gin.Context) *Claims {
	v, ok := c.Get(claimsKey)
	if !ok {
		return nil
	}
	claims, _ := v.(*Claims)
	return claims
}

// UserID returns the id of the authenticated user, or uuid.Nil.
func UserID(c *gin.Context) uuid.UUID {
	if claims := ClaimsFrom(c); claims != nil {
		return claims.UserID()
	}
	return uuid.Nil
}

// CurrentUser loads the authenticated user from the store, at most once
// per request. It returns ErrNoUser when the request is not authenticated
// or the user no longer exists or is inactive (answer 401); any other
// error is a store failure wrapping ErrStoreUnavailable (answer 503: the
// token may well be good, and a 401 would make clients throw it away).
func CurrentUser(c *gin.Context) (*User, error) {
	if v, ok := c.Get(userKey); ok {
		if user, ok := v.(*User); ok {
			return user, nil
		}
	}
	claims := ClaimsFrom(c)
	if claims == nil || claims.auth == nil {
		return nil, ErrNoUser
	}
	user, err := claims.auth.store.UserByID(c.Request.Context(), claims.UserID())
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoUser
	}
	if err != nil {
		return nil, err
	}
	if !user.IsActive {
		return nil, ErrNoUser
	}
	c.Set(userKey, user)
	return user, nil
}
