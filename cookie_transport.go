package ginauth

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// Transport is how tokens travel between ginauth and its clients.
type Transport int

const (
	// TransportBearer (the default) sends tokens in JSON bodies and reads
	// the access token from the Authorization header only.
	TransportBearer Transport = iota
	// TransportCookie sends tokens in HttpOnly cookies (login, refresh and
	// OAuth sign-in answer 204), reads the access token from the header or
	// else the access cookie, and protects unsafe requests against CSRF.
	TransportCookie
)

// String returns the name FromEnv reads: "bearer" or "cookie".
func (t Transport) String() string {
	switch t {
	case TransportBearer:
		return "bearer"
	case TransportCookie:
		return "cookie"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// parseTransport reads GINAUTH_TRANSPORT.
func parseTransport(raw string) (Transport, error) {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "", "bearer":
		return TransportBearer, nil
	case "cookie":
		return TransportCookie, nil
	}
	return 0, fmt.Errorf("GINAUTH_TRANSPORT must be bearer or cookie, not %q", raw)
}

// ErrCSRF means an unsafe request of the cookie transport failed the CSRF
// check: a missing or wrong X-CSRF-Token, or a cross-site origin.
var ErrCSRF = errors.New("ginauth: CSRF check failed")

// csrfHeader carries the CSRF cookie's value on unsafe requests.
const csrfHeader = "X-CSRF-Token"

// The cookie names, before the `__Host-` prefix added on https.
const (
	accessCookieName  = "ginauth_access"
	refreshCookieName = "ginauth_refresh"
	csrfCookieName    = "ginauth_csrf"
)

// cookieName is name with the `__Host-` prefix when the base URL is https.
func (a *Auth) cookieName(name string) string {
	if a.secureCookies() {
		return "__Host-" + name
	}
	return name
}

// cookieMode reports whether the cookie transport is on.
func (a *Auth) cookieMode() bool { return a.cfg.Transport == TransportCookie }

// tokenCookie is a cookie of the token set with the common attributes.
func (a *Auth) tokenCookie(name, value string, maxAge int, httpOnly bool) *http.Cookie {
	return &http.Cookie{Name: a.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: httpOnly, Secure: a.secureCookies(), SameSite: http.SameSiteLaxMode}
}

// setTokenCookies hands a token pair to a browser: the access and refresh
// tokens in HttpOnly cookies, never in the URL or the body, and a fresh
// readable CSRF cookie the client echoes in X-CSRF-Token.
func (a *Auth) setTokenCookies(c *gin.Context, pair *TokenResponse) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	http.SetCookie(c.Writer, a.tokenCookie(accessCookieName, pair.AccessToken, pair.ExpiresIn, true))
	http.SetCookie(c.Writer, a.tokenCookie(refreshCookieName, pair.RefreshToken, pair.RefreshExpiresIn, true))
	http.SetCookie(c.Writer, a.tokenCookie(csrfCookieName, randomToken(32), pair.RefreshExpiresIn, false))
}

// clearTokenCookies deletes the three cookies, with the attributes they
// were set with. Outside the cookie transport it does nothing.
func (a *Auth) clearTokenCookies(c *gin.Context) {
	if !a.cookieMode() {
		return
	}
	http.SetCookie(c.Writer, a.tokenCookie(accessCookieName, "", -1, true))
	http.SetCookie(c.Writer, a.tokenCookie(refreshCookieName, "", -1, true))
	http.SetCookie(c.Writer, a.tokenCookie(csrfCookieName, "", -1, false))
}

// answerTokens answers a sign-in or a refresh: the TokenResponse in the
// body, or with the cookie transport the cookies and 204.
func (a *Auth) answerTokens(c *gin.Context, pair *TokenResponse) {
	if !a.cookieMode() {
		writeTokens(c, pair)
		return
	}
	a.setTokenCookies(c, pair)
	c.Status(http.StatusNoContent)
}

// cookieValue is the value of the named cookie (prefix added), or "".
func (a *Auth) cookieValue(r *http.Request, name string) string {
	cookie, err := r.Cookie(a.cookieName(name))
	if err != nil {
		return ""
	}
	return cookie.Value
}

// requestToken is the access token of the request: the Authorization
// header's, else (cookie transport only) the access cookie's. fromCookie
// says the cookie supplied it. A request with a header never reads cookies.
func (a *Auth) requestToken(r *http.Request) (token string, sent, fromCookie bool) {
	token, sent = bearerToken(r)
	if sent || !a.cookieMode() {
		return token, sent, false
	}
	if token = a.cookieValue(r, accessCookieName); token != "" {
		return token, true, true
	}
	return "", false, false
}

// isUnsafe reports whether method may change state.
func isUnsafe(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// checkCSRF refuses a cross-site request (Sec-Fetch-Site: cross-site, or an
// Origin that is neither the base URL's nor a trusted one), and a request
// whose X-CSRF-Token differs from the CSRF cookie. Without a CSRF cookie,
// needToken decides: a request authenticated by cookies needs one; a
// sign-in, which no cookie precedes, is judged by its origin alone.
func (a *Auth) checkCSRF(r *http.Request, needToken bool) error {
	if strings.EqualFold(r.Header.Get("Sec-Fetch-Site"), "cross-site") {
		return ErrCSRF
	}
	if raw := r.Header.Get("Origin"); raw != "" && !a.allowedOrigin(raw) {
		return ErrCSRF
	}
	cookie := a.cookieValue(r, csrfCookieName)
	if cookie == "" {
		if needToken {
			return ErrCSRF
		}
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(cookie)) != 1 {
		return ErrCSRF
	}
	return nil
}

// allowedOrigin reports whether an Origin header names the base URL's
// origin or a trusted one; "null" and anything unparsable are refused.
func (a *Auth) allowedOrigin(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || (u.Path != "" && u.Path != "/") {
		return false
	}
	o, ok := originOf(u)
	if !ok {
		return false
	}
	if o == a.baseOrigin {
		return true
	}
	for _, trusted := range a.trustedOrigins {
		if trusted == o {
			return true
		}
	}
	return false
}

// csrfGuard is put in front of the unsafe routes ginauth mounts when the
// cookie transport is on. A CSRF cookie, when the browser has one, must be
// echoed; RequireAuth additionally demands it when the cookie
// authenticates the request.
func (a *Auth) csrfGuard(c *gin.Context) {
	if err := a.checkCSRF(c.Request, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	c.Next()
}
