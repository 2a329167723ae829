package ginauth

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// oauthStateTTL is how long a sign-in attempt may take at the provider.
const oauthStateTTL = 10 * time.Minute

// A browser may run a few sign-ins at once (two tabs, GitHub then Google),
// each in its own state cookie. Authorize keeps what the browser holds
// within maxStateCookies cookies and maxStateCookieBytes of Cookie header,
// clearing the oldest attempts first: servers and proxies refuse request
// headers beyond about 8 KiB, and the app's own cookies need room too.
const (
	maxStateCookies     = 5
	maxStateCookieBytes = 4 << 10
)

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
	Expires    int64     `json:"e"`           // its start plus oauthStateTTL, so also its age
}

// stateCookiePrefix begins the name of every state cookie. It is
// `__Host-` prefixed when the base URL is https, so the cookie cannot be
// set by a sibling subdomain or over http.
func (a *Auth) stateCookiePrefix() string {
	if a.secureCookies() {
		return "__Host-ginauth_oauth_"
	}
	return "ginauth_oauth_"
}

// stateCookieName names the cookie of the attempt whose state is state:
// the prefix and 16 base64url characters (96 bits) of SHA-256(state), so
// the callback finds its attempt's cookie among the others without the
// name showing the state. The name is only an index: the sealed value is
// bound to it and holds the state, which the callback compares.
func (a *Auth) stateCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return a.stateCookiePrefix() + base64.RawURLEncoding.EncodeToString(sum[:])[:16]
}

// secureCookies is judged from configuration, never from the request.
func (a *Auth) secureCookies() bool {
	return strings.HasPrefix(a.cfg.BaseURL, "https://")
}

// stateCookie is a state cookie with its attributes. formPost providers
// post the callback cross-site, which only a SameSite=None cookie
// survives. A cookie is cleared (maxAge -1) with the attributes it was set
// with.
func (a *Auth) stateCookie(name, value string, maxAge int, formPost bool) *http.Cookie {
	sameSite := http.SameSiteLaxMode
	if formPost {
		sameSite = http.SameSiteNoneMode
	}
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: a.secureCookies() || formPost, SameSite: sameSite,
	}
}

// providerPostsForm reports whether the named provider posts its callback.
func (a *Auth) providerPostsForm(name string) bool {
	p, ok := a.providers[name]
	return ok && usesFormPost(p)
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

// setStateCookie seals the attempt into a cookie of its own, after
// clearing the oldest attempts the browser holds beyond the limits.
func (a *Auth) setStateCookie(c *gin.Context, st *oauthState, formPost bool) {
	raw, err := json.Marshal(st)
	if err != nil {
		panic(err) // a struct of strings and numbers always marshals
	}
	name := a.stateCookieName(st.State)
	value := a.stateSealer.seal(raw, []byte(name))
	a.makeRoomForState(c, headerBytes(name, value))
	http.SetCookie(c.Writer, a.stateCookie(name, value, int(oauthStateTTL.Seconds()), formPost))
}

// heldState is a live state cookie the request carries.
type heldState struct {
	name     string
	size     int
	expires  int64
	formPost bool
}

// makeRoomForState clears the state cookies the browser sends that no
// longer open or have expired, then the oldest live ones until a new
// cookie of newSize fits in maxStateCookies and maxStateCookieBytes.
// Oldest is the earliest sealed expiry; within one second the browser's
// order decides, which RFC 6265 §5.4 makes oldest first.
func (a *Auth) makeRoomForState(c *gin.Context, newSize int) {
	var held []heldState
	total := newSize
	for _, cookie := range c.Request.Cookies() {
		if !strings.HasPrefix(cookie.Name, a.stateCookiePrefix()) {
			continue
		}
		st, err := a.openStateCookie(cookie)
		if err != nil || a.now().Unix() >= st.Expires {
			http.SetCookie(c.Writer, a.stateCookie(cookie.Name, "", -1, false))
			continue
		}
		h := heldState{name: cookie.Name, size: headerBytes(cookie.Name, cookie.Value),
			expires: st.Expires, formPost: a.providerPostsForm(st.Provider)}
		held = append(held, h)
		total += h.size
	}
	slices.SortStableFunc(held, func(x, y heldState) int { return cmp.Compare(x.expires, y.expires) })
	for len(held) > 0 && (len(held)+1 > maxStateCookies || total > maxStateCookieBytes) {
		http.SetCookie(c.Writer, a.stateCookie(held[0].name, "", -1, held[0].formPost))
		total -= held[0].size
		held = held[1:]
	}
}

// headerBytes is what a cookie adds to the Cookie header: `; name=value`.
func headerBytes(name, value string) int { return len(name) + len(value) + 3 }

// openStateCookie opens a state cookie sealed under its own name.
func (a *Auth) openStateCookie(cookie *http.Cookie) (*oauthState, error) {
	raw, err := a.stateSealer.open(cookie.Value, []byte(cookie.Name))
	if err != nil {
		return nil, ErrOAuthInvalidState
	}
	var st oauthState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, ErrOAuthInvalidState
	}
	return &st, nil
}

// takeStateCookie reads and clears the cookie named after the callback's
// state, and checks it against the callback: same state (constant time),
// same provider, not expired, and for associate the same user. Every
// failure is ErrOAuthInvalidState.
func (a *Auth) takeStateCookie(c *gin.Context, provider, state string, userID uuid.UUID) (*oauthState, error) {
	if state == "" {
		return nil, ErrOAuthInvalidState
	}
	cookie, err := c.Request.Cookie(a.stateCookieName(state))
	if err != nil {
		return nil, ErrOAuthInvalidState
	}
	http.SetCookie(c.Writer, a.stateCookie(cookie.Name, "", -1, a.providerPostsForm(provider)))
	st, err := a.openStateCookie(cookie)
	if err != nil {
		return nil, err
	}
	got, want := sha256.Sum256([]byte(state)), sha256.Sum256([]byte(st.State))
	switch {
	case subtle.ConstantTimeCompare(got[:], want[:]) != 1,
		st.Provider != provider,
		a.now().Unix() >= st.Expires,
		st.UserID != userID:
		return nil, ErrOAuthInvalidState
	}
	return st, nil
}

// dropStateCookies clears the cookies of the given states that the
// request carries: a callback refused for a repeated state spends every
// attempt it named.
func (a *Auth) dropStateCookies(c *gin.Context, provider string, states []string) {
	held := map[string]bool{}
	for _, cookie := range c.Request.Cookies() {
		held[cookie.Name] = true
	}
	for _, state := range states {
		if name := a.stateCookieName(state); held[name] {
			http.SetCookie(c.Writer, a.stateCookie(name, "", -1, a.providerPostsForm(provider)))
			delete(held, name)
		}
	}
}
