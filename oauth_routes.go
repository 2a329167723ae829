package ginauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth/providers"
	"github.com/google/uuid"
)

// OAuth errors of the Go API; errors.go turns them into the contract's codes.
var (
	// ErrProviderNotFound means no provider of that name is configured.
	ErrProviderNotFound = errors.New("ginauth: provider not found")
	// ErrOAuthNoEmail means the provider gave no email for a new account.
	ErrOAuthNoEmail = errors.New("ginauth: provider gave no email")
	// ErrOAuthUserExists means a local user has the provider's email and
	// the linking rules do not allow linking it.
	ErrOAuthUserExists = errors.New("ginauth: a user with this email exists")
	// ErrOAuthAccountLinked means the provider account belongs to another user.
	ErrOAuthAccountLinked = errors.New("ginauth: provider account linked to another user")
	// ErrOAuthLastLoginMethod means unlinking would leave the user no way
	// to sign in.
	ErrOAuthLastLoginMethod = errors.New("ginauth: last login method")
)

// providerNamePattern keeps provider names URL- and cookie-safe.
var providerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// scopePattern is what an extra scope from ?scopes= may look like.
var scopePattern = regexp.MustCompile(`^[A-Za-z0-9:._/-]{1,128}$`)

// setProviders indexes the configured providers by name.
func (a *Auth) setProviders(list []providers.Provider) error {
	a.providers = map[string]providers.Provider{}
	for _, p := range list {
		if p == nil {
			return errors.New("ginauth: Config.Providers holds a nil provider")
		}
		name := p.Name()
		if !providerNamePattern.MatchString(name) {
			return fmt.Errorf("ginauth: provider name %q must match %s", name, providerNamePattern)
		}
		if _, dup := a.providers[name]; dup {
			return fmt.Errorf("ginauth: two providers are named %q; give one another name (providers.WithName)", name)
		}
		a.providers[name] = p
		a.providerList = append(a.providerList, p)
	}
	a.checkProviders()
	return nil
}

// providerCheckTimeout bounds how long New waits, in all, for the
// providers that must reach the network before they can serve.
const providerCheckTimeout = 10 * time.Second

// checkProviders calls Check on every provider that implements
// providers.Checker (OpenID Connect discovery), all at once and within
// providerCheckTimeout. A failure does not fail New, since the issuer may
// be down for a moment while the app deploys: it is logged as a warning,
// and the provider stays configured, its routes answering 502
// OAUTH_PROVIDER_UNAVAILABLE until a later Check succeeds.
func (a *Auth) checkProviders() {
	ctx, cancel := context.WithTimeout(context.Background(), providerCheckTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range a.providerList {
		checker, ok := p.(providers.Checker)
		if !ok {
			continue
		}
		wg.Go(func() {
			if err := checker.Check(ctx); err != nil {
				a.logger.Warn("ginauth: OAuth provider unavailable at startup; its routes answer 502 until it can be reached",
					"provider", p.Name(), "error", err)
			}
		})
	}
	wg.Wait()
}

// usesFormPost reports whether a provider posts its callback (Apple).
func usesFormPost(p providers.Provider) bool {
	fp, ok := p.(interface{ ResponseMode() string })
	return ok && fp.ResponseMode() == "form_post"
}

// oauthRoutes are the OAuth handlers of one mounted group: the callback
// URLs sent to providers are built from the configured base URL and this
// group's path, never from the request's Host.
type oauthRoutes struct {
	a        *Auth
	basePath string
}

// mountOAuth mounts the provider routes of the contract on g.
func (a *Auth) mountOAuth(g *gin.RouterGroup) {
	r := &oauthRoutes{a: a, basePath: strings.TrimSuffix(g.BasePath(), "/")}
	bad, unauthorized := http.StatusBadRequest, http.StatusUnauthorized
	a.mount(g, operation{method: http.MethodGet, path: "/providers", summary: "The OAuth providers users can sign in with",
		success: http.StatusOK}, r.handleProviders)
	a.mount(g, operation{method: http.MethodGet, path: "/:provider/authorize", summary: "Begin an OAuth sign-in",
		success: http.StatusOK, errorCode: []int{bad, http.StatusNotFound}}, r.handleAuthorize(false))
	// The callback is exempt from the CSRF guard: form_post providers post
	// it cross-site by design, and the single-use state bound to this
	// browser's cookie is its CSRF protection.
	callback := operation{path: "/:provider/callback", summary: "Finish an OAuth sign-in", success: http.StatusOK,
		response: "TokenResponse", errorCode: []int{bad, http.StatusBadGateway}, noCSRF: true}
	callback.method = http.MethodGet
	a.mount(g, callback, r.handleCallback(false))
	callback.method = http.MethodPost
	a.mount(g, callback, r.handleCallback(false))
	a.mount(g, operation{method: http.MethodGet, path: "/:provider/associate/authorize", summary: "Begin linking a provider account",
		auth: true, success: http.StatusOK, errorCode: []int{bad, unauthorized, http.StatusNotFound}}, a.RequireAuth(), r.handleAuthorize(true))
	a.mount(g, operation{method: http.MethodGet, path: "/:provider/associate/callback", summary: "Finish linking a provider account",
		auth: true, success: http.StatusOK, response: "UserRead", errorCode: []int{bad, unauthorized, http.StatusBadGateway}},
		callbackHeaders, a.RequireAuth(), r.handleCallback(true))
	a.mount(g, operation{method: http.MethodDelete, path: "/:provider/associate", summary: "Unlink a provider account",
		auth: true, success: http.StatusNoContent, errorCode: []int{bad, unauthorized, http.StatusNotFound}}, a.RequireAuth(), r.handleUnlink)
}

// callbackHeaders keeps the code and state of a callback URL from leaking
// onwards (Referer) or into a cache, whatever the answer: it runs before
// RequireAuth on the associate callback, so its 401 carries them too.
func callbackHeaders(c *gin.Context) {
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Cache-Control", "no-store")
}

// callbackURL is the redirect URI registered with the provider.
func (r *oauthRoutes) callbackURL(provider string, associate bool) string {
	path := "/callback"
	if associate {
		path = "/associate/callback"
	}
	return r.a.cfg.BaseURL + r.basePath + "/" + provider + path
}

// provider finds the route's provider or answers 404 PROVIDER_NOT_FOUND.
func (r *oauthRoutes) provider(c *gin.Context) (providers.Provider, bool) {
	p, ok := r.a.providers[c.Param("provider")]
	if !ok {
		r.a.abortWithError(c, ErrProviderNotFound, "")
	}
	return p, ok
}

// handleProviders: GET /providers → the configured providers.
func (r *oauthRoutes) handleProviders(c *gin.Context) {
	type entry struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	}
	list := make([]entry, 0, len(r.a.providerList))
	for _, p := range r.a.providerList {
		list = append(list, entry{Name: p.Name(), DisplayName: p.DisplayName()})
	}
	c.JSON(http.StatusOK, gin.H{"providers": list})
}

// handleAuthorize: GET /{provider}/authorize (and associate/authorize) →
// {"authorization_url"} and the flow's own state cookie, or a 302 to the
// provider for a browser asking for HTML.
func (r *oauthRoutes) handleAuthorize(associate bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := r.provider(c)
		if !ok {
			return
		}
		var redirectTo string
		if raw := c.Query("redirect_to"); raw != "" {
			var err error
			if redirectTo, err = r.a.checkRedirect(raw); err != nil {
				r.a.abortWithError(c, err, "")
				return
			}
		}
		scopes, err := extraScopes(c.Query("scopes"))
		if err != nil {
			r.a.abortWithError(c, err, "")
			return
		}
		var userID uuid.UUID
		if associate {
			userID = UserID(c)
		}
		if checker, ok := p.(providers.Checker); ok {
			// Tried again at most every few seconds while it fails.
			if err := checker.Check(c.Request.Context()); err != nil {
				r.a.abortWithError(c, err, "")
				return
			}
		}
		st := r.a.newOAuthState(p.Name(), redirectTo, userID)
		authURL := p.AuthCodeURL(providers.AuthRequest{
			State: st.State, RedirectURL: r.callbackURL(p.Name(), associate),
			CodeVerifier: st.Verifier, Nonce: st.Nonce, Scopes: scopes,
		})
		if authURL == "" { // an OpenID Connect provider whose discovery failed
			r.a.abortWithError(c, fmt.Errorf("%w: no authorization URL", providers.ErrProviderUnavailable), "")
			return
		}
		r.a.setStateCookie(c, st, usesFormPost(p))
		c.Header("Cache-Control", "no-store")
		if !associate && strings.Contains(c.GetHeader("Accept"), "text/html") {
			c.Redirect(http.StatusFound, authURL)
			return
		}
		c.JSON(http.StatusOK, gin.H{"authorization_url": authURL})
	}
}

// extraScopes reads ?scopes= (space- or comma-separated).
func extraScopes(raw string) ([]string, error) {
	fields := strings.FieldsFunc(raw, func(r rune) bool { return r == ' ' || r == ',' })
	if len(fields) > 20 {
		return nil, invalidField("scopes", "too many scopes")
	}
	for _, s := range fields {
		if !scopePattern.MatchString(s) {
			return nil, invalidField("scopes", "a scope holds characters that are not allowed")
		}
	}
	return fields, nil
}

// callbackParams are the parameters the provider sends back.
type callbackParams struct {
	code, state, errorCode, issuer string
	// states are all the state values sent, to spend each when repeated.
	states []string
	// formUser is the `user` field of a form_post callback (Apple).
	formUser string
	// repeated names a parameter that came more than once, which RFC 6749
	// §3.1 forbids: with two, which one is checked and which one used
	// could differ (an RFC 9207 iss check passing on the first of two).
	repeated string
}

// callbackParamNames are the callback parameters that may come once only.
var callbackParamNames = []string{"code", "state", "iss", "error"}

// maxFormUserBytes caps the `user` field of a form_post callback: Apple's
// is a small JSON object with a name and an email; a longer one is dropped.
const maxFormUserBytes = 4 << 10

// readCallback reads the callback's parameters from the query, or from the
// posted form for form_post providers. Only a posted form gives formUser.
func (r *oauthRoutes) readCallback(c *gin.Context) (callbackParams, error) {
	values := c.Request.URL.Query()
	var formUser string
	if c.Request.Method == http.MethodPost {
		if mediaType(c.Request) != "application/x-www-form-urlencoded" {
			return callbackParams{}, errUnsupportedMediaType
		}
		body, err := r.a.readBody(c)
		if err != nil {
			return callbackParams{}, err
		}
		if values, err = url.ParseQuery(string(body)); err != nil {
			return callbackParams{}, ErrOAuthInvalidState
		}
		if formUser = values.Get("user"); len(formUser) > maxFormUserBytes {
			formUser = ""
		}
	}
	params := callbackParams{code: values.Get("code"), state: values.Get("state"), states: values["state"],
		errorCode: values.Get("error"), issuer: values.Get("iss"), formUser: formUser}
	for _, name := range callbackParamNames {
		if len(values[name]) > 1 {
			params.repeated = name
			break
		}
	}
	return params, nil
}

// handleCallback: GET or POST /{provider}/callback, and GET
// associate/callback. The state is checked before anything else.
func (r *oauthRoutes) handleCallback(associate bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		callbackHeaders(c)
		p, ok := r.provider(c)
		if !ok {
			return
		}
		params, err := r.readCallback(c)
		if err != nil {
			r.a.abortWithError(c, err, "")
			return
		}
		var userID uuid.UUID
		if associate {
			userID = UserID(c)
		}
		if params.repeated == "state" {
			r.a.dropStateCookies(c, p.Name(), params.states)
			r.a.abortWithError(c, ErrOAuthInvalidState, "")
			return
		}
		st, err := r.a.takeStateCookie(c, p.Name(), params.state, userID)
		if err != nil {
			r.a.abortWithError(c, err, "")
			return
		}
		if params.repeated != "" {
			r.providerError(c, p, fmt.Errorf("%w: parameter %q sent more than once", providers.ErrInvalidGrant, params.repeated))
			return
		}
		if params.errorCode != "" || params.code == "" {
			r.providerError(c, p, fmt.Errorf("%w: the provider answered %q", providers.ErrInvalidGrant, params.errorCode))
			return
		}
		ctx := c.Request.Context()
		tokens, err := p.Exchange(ctx, providers.ExchangeRequest{
			Code: params.code, RedirectURL: r.callbackURL(p.Name(), associate),
			CodeVerifier: st.Verifier, Nonce: st.Nonce, Issuer: params.issuer, FormUser: params.formUser,
		})
		if err != nil {
			r.providerError(c, p, err)
			return
		}
		profile, err := p.Profile(ctx, tokens)
		if err != nil {
			r.providerError(c, p, err)
			return
		}
		if profile.AccountID == "" {
			r.a.abortWithError(c, fmt.Errorf("%w: no account id", providers.ErrProviderUnavailable), "")
			return
		}
		if associate {
			r.finishAssociate(c, p.Name(), profile, tokens)
			return
		}
		r.finishSignIn(c, p.Name(), profile, tokens, st.RedirectTo)
	}
}

// providerError answers a callback that the provider's answer failed.
// A refusal (400 OAUTH_PROVIDER_ERROR) is logged with its reason, since
// the response carries none: a wrong client secret, an id_token signed
// with an algorithm the issuer did not advertise, or an iss mismatch
// would otherwise leave the operator nothing to go on. The reason names
// error codes and claims, never the code or a token.
func (r *oauthRoutes) providerError(c *gin.Context, p providers.Provider, err error) {
	if errors.Is(err, providers.ErrInvalidGrant) && !errors.Is(err, providers.ErrProviderUnavailable) {
		r.a.logger.InfoContext(c.Request.Context(), "ginauth: OAuth callback refused",
			"provider", p.Name(), "reason", err.Error(), "path", c.FullPath())
	}
	r.a.abortWithError(c, err, "")
}

// finishSignIn signs the provider account's user in (creating or linking
// the user under the contract's rules) and answers with tokens: in the
// body (cookie transport: cookies and 204), or in cookies with a 302 to
// redirect_to.
func (r *oauthRoutes) finishSignIn(c *gin.Context, provider string, profile *providers.Profile, tokens *providers.Tokens, redirectTo string) {
	user, created, err := r.a.oauthUser(c.Request.Context(), provider, profile, tokens)
	if err != nil {
		r.a.abortWithError(c, err, "")
		return
	}
	if created {
		// The user exists from here on, whether or not it may sign in
		// now (RequireVerified): the app's welcome mail and, when the
		// provider did not verify the email, the verify link go out.
		r.a.afterRegister(c.Request.Context(), user, c.Request)
	}
	if !user.IsActive {
		r.a.abortWithError(c, ErrBadCredentials, "")
		return
	}
	if r.a.cfg.RequireVerified && !user.IsVerified {
		// As for password login: a provider that did not verify the
		// email does not get around RequireVerified.
		r.a.abortWithError(c, ErrUserNotVerified, "")
		return
	}
	pair, err := r.a.startSession(c.Request.Context(), user, clientInfo(c))
	if err != nil {
		r.a.abortWithError(c, err, "")
		return
	}
	if r.a.cfg.Hooks.OnAfterLogin != nil {
		r.a.cfg.Hooks.OnAfterLogin(c.Request.Context(), user, c.Request)
	}
	if redirectTo == "" {
		r.a.answerTokens(c, pair)
		return
	}
	r.a.setTokenCookies(c, pair)
	c.Redirect(http.StatusFound, redirectTo)
}

// finishAssociate links the provider account to the signed-in user.
func (r *oauthRoutes) finishAssociate(c *gin.Context, provider string, profile *providers.Profile, tokens *providers.Tokens) {
	ctx := c.Request.Context()
	user, err := CurrentUser(c)
	if err != nil {
		r.a.abortCurrentUser(c, err)
		return
	}
	if err := r.a.linkOAuthAccount(ctx, user, provider, profile, tokens); err != nil {
		r.a.abortWithError(c, err, "")
		return
	}
	accounts, err := r.a.store.OAuthAccountsOf(ctx, user.ID)
	if err != nil {
		r.a.abortWithError(c, err, "")
		return
	}
	c.JSON(http.StatusOK, newUserRead(user, accounts))
}

// handleUnlink: DELETE /{provider}/associate → 204, unless it is the
// user's last way to sign in. The store decides that and deletes in one
// transaction, so two concurrent unlinks cannot both pass the check.
func (r *oauthRoutes) handleUnlink(c *gin.Context) {
	p, ok := r.provider(c)
	if !ok {
		return
	}
	user, err := CurrentUser(c)
	if err != nil {
		r.a.abortCurrentUser(c, err)
		return
	}
	err = r.a.store.DeleteOAuthAccountUnlessLast(c.Request.Context(), user.ID, p.Name())
	if err != nil && !errors.Is(err, ErrNotFound) { // not linked: nothing to do
		r.a.abortWithError(c, err, "")
		return
	}
	c.Status(http.StatusNoContent)
}

// providerTokenExpiry is the provider access token's expiry, if it has one.
func providerTokenExpiry(tokens *providers.Tokens) *time.Time {
	if tokens == nil || tokens.Token == nil || tokens.Expiry.IsZero() {
		return nil
	}
	expiry := tokens.Expiry.UTC()
	return &expiry
}
