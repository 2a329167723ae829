package ginauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// oauthStateTTL is how long a sign-in attempt may take at the provider.
const oauthStateTTL = 10 * time.Minute

// ErrOAuthInvalidState means the callback's state does not belong to a live
// attempt begun by this browser with this provider (and, for associate,
// this user).
var ErrOAuthInvalidState = errors.New("ginauth: invalid OAuth state")

// oauthState is one sign-in attempt, sealed into an HttpOnly cookie so any
// instance can finish what another began and no server-side state is kept.
type oauthState struct {
	State      string    `json:"s"`
	Verifier   string    `json:"v"`
	Nonce      string    `json:"n"`
	Provider   string    `json:"p"`
	RedirectTo string    `json:"r,omitempty"`
	UserID     uuid.UUID `json:"u,omitempty"` // associate: the user who began it
	Expires    int64     `json:"e"`
}

// stateCookieName is `__Host-` prefixed when the base URL is https, so the
// cookie cannot be set by a sibling subdomain or over http.
func (a *Auth) stateCookieName() string {
	if a.secureCookies() {
		return "__Host-ginauth_oauth"
	}
	return "ginauth_oauth"
}

// secureCookies is judged from configuration, never from the request.
func (a *Auth) secureCookies() bool {
	return strings.HasPrefix(a.cfg.BaseURL, "https://")
}

// newOAuthState starts an attempt: fresh random state, PKCE verifier and
// nonce.
func (a *Auth) newOAuthState(provider, redirectTo string, userID uuid.UUID) *oauthState {
	return &oauthState{
		State:      randomToken(32),
		Verifier:   randomToken(32), // 43 characters, as RFC 7636 asks
		Nonce:      randomToken(32),
		Provider:   provider,
		RedirectTo: redirectTo,
		UserID:     userID,
		Expires:    a.now().Add(oauthStateTTL).Unix(),
	}
}

// setStateCookie seals the attempt into the state cookie. formPost
// providers post the callback cross-site, which only a SameSite=None
// cookie survives.
func (a *Auth) setStateCookie(c *gin.Context, st *oauthState, formPost bool) {
	raw, err := json.Marshal(st)
	if err != nil {
		panic(err) // a struct of strings and numbers always marshals
	}
	sameSite := http.SameSiteLaxMode
	if formPost {
		sameSite = http.SameSiteNoneMode
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     a.stateCookieName(),
		Value:    a.stateSealer.seal(raw, []byte(a.stateCookieName())),
		Path:     "/",
		MaxAge:   int(oauthStateTTL.Seconds()),
		HttpOnly: true,
		Secure:   a.secureCookies() || formPost,
		SameSite: sameSite,
	})
}

// takeStateCookie reads and clears the state cookie, and checks it against
// the callback: same state (constant time), same provider, not expired,
// and for associate the same user. Every failure is ErrOAuthInvalidState.
func (a *Auth) takeStateCookie(c *gin.Context, provider, state string, userID uuid.UUID) (*oauthState, error) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: a.stateCookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	cookie, err := c.Request.Cookie(a.stateCookieName())
	if err != nil || state == "" {
		return nil, ErrOAuthInvalidState
	}
	raw, err := a.stateSealer.open(cookie.Value, []byte(a.stateCookieName()))
	if err != nil {
		return nil, ErrOAuthInvalidState
	}
	var st oauthState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, ErrOAuthInvalidState
	}
	got, want := sha256.Sum256([]byte(state)), sha256.Sum256([]byte(st.State))
	switch {
	case subtle.ConstantTimeCompare(got[:], want[:]) != 1,
		st.Provider != provider,
		a.now().Unix() >= st.Expires,
		st.UserID != userID:
		return nil, ErrOAuthInvalidState
	}
	return &st, nil
}
