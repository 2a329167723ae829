// Package oidctest starts a real OpenID Connect provider in-process for
// tests: the example OP of github.com/zitadel/oidc/v3 (its op package, its
// login page and its in-memory storage) on an httptest server, and drives
// its login page the way a browser does.
//
// It is a test harness, not API: nothing outside tests imports it.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The example OP's users (storage.NewUserStore). The first user's username
// carries the issuer's host name; see OP.Username.
const (
	// Password is the password of both example users.
	Password = "verysecure"
	// Subject is the `sub` of the first example user.
	Subject = "id1"
	// Email is the verified email of the first example user.
	Email = "test-user@zitadel.ch"
	// Subject2 is the `sub` of the second example user.
	Subject2 = "id2"
	// Username2 is the username of the second example user.
	Username2 = "test-user2"
	// Email2 is the verified email of the second example user.
	Email2 = "test-user2@zitadel.ch"
)

// OP is a running OpenID provider with one confidential web client.
type OP struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:port); its
	// discovery document is at Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the registered web client's
	// credentials (client_secret_basic).
	ClientID     string
	ClientSecret string
	// Username is the first example user's username.
	Username string

	server  *httptest.Server
	storage *clientStorage
}

// Start runs an OP on the loopback interface until the test ends. The web
// client accepts the given redirect URIs exactly (AllowRedirectURI adds
// more later).
func Start(t testing.TB, redirectURIs ...string) *OP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()

	const clientID, clientSecret = "ginauth-test", "ginauth-test-secret"
	// The example keeps clients in a map it reads under its own lock; this
	// map is never written after NewStorageWithClients, so tests running
	// in parallel each own theirs.
	clients := map[string]*storage.Client{clientID: storage.WebClient(clientID, clientSecret)}
	st := &clientStorage{Storage: storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)}
	st.AllowRedirectURI(redirectURIs...)

	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)

	host := strings.Split(strings.TrimPrefix(issuer, "http://"), ":")[0]
	return &OP{
		Issuer: issuer, ClientID: clientID, ClientSecret: clientSecret,
		Username: "test-user@" + host,
		server:   srv, storage: st,
	}
}

// AllowRedirectURI registers more redirect URIs for the web client.
func (o *OP) AllowRedirectURI(uris ...string) { o.storage.AllowRedirectURI(uris...) }

// Client returns an HTTP client for the provider's server.
func (o *OP) Client() *http.Client { return o.server.Client() }

// Login signs the first example user in at the provider, as a browser
// does: it GETs authURL (the provider's authorization URL, with its
// redirect_uri), posts the user's credentials to the login form, and
// follows the provider's redirects until one points at the redirect_uri,
// which it returns without following. client should have a cookie jar.
func (o *OP) Login(client *http.Client, authURL string) (callbackURL *url.URL, err error) {
	return o.LoginAs(client, authURL, o.Username, Password)
}

// LoginAs is Login with another example user (Username2) or wrong
// credentials.
func (o *OP) LoginAs(client *http.Client, authURL, username, password string) (*url.URL, error) {
	au, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("oidctest: authorization URL: %w", err)
	}
	redirect, err := url.Parse(au.Query().Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		return nil, fmt.Errorf("oidctest: authorization URL %q has no absolute redirect_uri", authURL)
	}
	browser := *client
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	page, callback, err := follow(&browser, req, redirect)
	if err != nil || callback != nil {
		return callback, err
	}
	action, id := formAction.FindStringSubmatch(page), hiddenID.FindStringSubmatch(page)
	if action == nil || id == nil {
		return nil, fmt.Errorf("oidctest: no login form on the provider's page: %.300s", page)
	}
	target, err := req.URL.Parse(html.UnescapeString(action[1]))
	if err != nil {
		return nil, err
	}
	form := url.Values{"id": {html.UnescapeString(id[1])}, "username": {username}, "password": {password}}
	post, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	page, callback, err = follow(&browser, post, redirect)
	if err != nil {
		return nil, err
	}
	if callback == nil {
		msg := loginError.FindStringSubmatch(page)
		if msg != nil && strings.TrimSpace(msg[1]) != "" {
			return nil, fmt.Errorf("%w: %s", ErrLoginRefused, html.UnescapeString(strings.TrimSpace(msg[1])))
		}
		return nil, fmt.Errorf("oidctest: the provider did not redirect to %s: %.300s", redirect, page)
	}
	return callback, nil
}

// ErrLoginRefused means the provider's login page refused the credentials.
var ErrLoginRefused = errors.New("oidctest: login refused")

var (
	formAction = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)
	hiddenID   = regexp.MustCompile(`name="id"\s+value="([^"]*)"`)
	loginError = regexp.MustCompile(`(?s)<p style="color:red[^"]*">(.*?)</p>`)
)

// follow sends req and follows redirects (as GETs) until one points at
// redirect, which it returns, or until a page answers 200, whose body it
// returns. Any other answer is an error.
func follow(client *http.Client, req *http.Request, redirect *url.URL) (page string, callback *url.URL, err error) {
	for hops := 0; hops < 10; hops++ {
		resp, err := client.Do(req)
		if err != nil {
			return "", nil, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return "", nil, err
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Location()
			if err != nil {
				return "", nil, fmt.Errorf("oidctest: redirect without Location: %w", err)
			}
			if loc.Scheme == redirect.Scheme && loc.Host == redirect.Host && loc.Path == redirect.Path {
				return "", loc, nil
			}
			if req, err = http.NewRequest(http.MethodGet, loc.String(), nil); err != nil {
				return "", nil, err
			}
		case resp.StatusCode == http.StatusOK:
			return string(body), nil, nil
		default:
			return "", nil, fmt.Errorf("oidctest: %s %s answered %d: %.300s", req.Method, req.URL, resp.StatusCode, body)
		}
	}
	return "", nil, errors.New("oidctest: too many redirects")
}

// clientStorage is the example's storage with redirect URIs that tests can
// add while the OP runs.
type clientStorage struct {
	*storage.Storage
	mu           sync.Mutex
	redirectURIs []string
}

// AllowRedirectURI adds redirect URIs to every client.
func (s *clientStorage) AllowRedirectURI(uris ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectURIs = append(s.redirectURIs, uris...)
}

// GetClientByClientID implements op.Storage: the example's client with the
// harness's redirect URIs.
func (s *clientStorage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return redirectClient{Client: c, uris: append([]string(nil), s.redirectURIs...)}, nil
}

// redirectClient is an op.Client whose redirect URIs are exactly uris.
type redirectClient struct {
	op.Client
	uris []string
}

// RedirectURIs implements op.Client.
func (c redirectClient) RedirectURIs() []string { return c.uris }
