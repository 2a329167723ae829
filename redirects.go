package ginauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrRedirectNotAllowed means a redirect_to is not on a trusted origin.
var ErrRedirectNotAllowed = errors.New("ginauth: redirect not allowed")

// origin is a parsed scheme + host + port, the unit redirects are trusted by.
type origin struct {
	scheme, host, port string
}

// parseOrigin reads a configured trusted origin such as
// "https://app.example.com" or "http://localhost:3000". Wildcards, paths,
// user info, queries and fragments are refused.
func parseOrigin(raw string) (origin, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || strings.Contains(raw, "*") || u.User != nil || u.Opaque != "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return origin{}, fmt.Errorf("ginauth: trusted origin %q must be scheme://host[:port], without wildcards or paths", raw)
	}
	o, ok := originOf(u)
	if !ok {
		return origin{}, fmt.Errorf("ginauth: trusted origin %q must be an http(s) origin with a host", raw)
	}
	return o, nil
}

// originOf returns the origin of an absolute http(s) URL, with the scheme's
// default port made explicit.
func originOf(u *url.URL) (origin, bool) {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Hostname() == "" {
		return origin{}, false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return origin{scheme: scheme, host: strings.ToLower(u.Hostname()), port: port}, true
}

// checkRedirect accepts redirect_to only when it is an absolute http(s)
// URL whose parsed scheme, host and port equal a trusted origin's. Prefix
// and suffix tricks (`//evil.tld`, `/\evil.tld`, `https:evil.tld`,
// `https://app.example.com@evil.tld`, `https://app.example.com.evil.tld`)
// fail the parse or the comparison.
func (a *Auth) checkRedirect(raw string) (string, error) {
	if raw == "" || len(raw) > 2048 || strings.ContainsAny(raw, "\\\x00\r\n\t ") {
		return "", ErrRedirectNotAllowed
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return "", ErrRedirectNotAllowed
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", ErrRedirectNotAllowed
	}
	o, ok := originOf(u)
	if !ok {
		return "", ErrRedirectNotAllowed
	}
	for _, trusted := range a.trustedOrigins {
		if trusted == o {
			return u.String(), nil
		}
	}
	return "", ErrRedirectNotAllowed
}
