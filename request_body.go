package ginauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gin-gonic/gin"
)

var (
	errBodyTooLarge         = errors.New("ginauth: request body too large")
	errUnsupportedMediaType = errors.New("ginauth: unsupported media type")
)

// maxEmailBytes is the longest email address accepted (RFC 5321 path limit).
const maxEmailBytes = 254

// mediaType returns the request's media type, lower-cased, without parameters.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// readBody reads the whole request body, capped at the configured limit.
func (a *Auth) readBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, a.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errBodyTooLarge
	}
	if err != nil {
		return nil, &ValidationError{Errors: []FieldError{{Field: "body", Message: "could not read the request body"}}}
	}
	return body, nil
}

// decodeJSON reads a JSON request body into dst: 415 for another content
// type, 413 past the size cap, 422 for malformed JSON or wrong types.
// Unknown fields are ignored. An empty body is allowed when optional is true.
func (a *Auth) decodeJSON(c *gin.Context, dst any, optional bool) error {
	if c.Request.ContentLength == 0 && optional && c.Request.Header.Get("Content-Type") == "" {
		return nil
	}
	if mediaType(c.Request) != "application/json" {
		return errUnsupportedMediaType
	}
	body, err := a.readBody(c)
	if err != nil {
		return err
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return unmarshalStrict(body, dst)
}

// unmarshalStrict decodes exactly one JSON object into dst.
func unmarshalStrict(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return invalidField("body", "the body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return invalidField(typeErr.Field, fmt.Sprintf("must be of type %s", typeErr.Type))
		}
		return invalidField("body", "the body is not a valid JSON object")
	}
	if dec.More() {
		return invalidField("body", "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidField("body", "the body holds more than one JSON value")
	}
	return nil
}

// CanonicalEmail trims the spaces and tabs around an email address, normalizes it
// (Unicode NFKC, so fullwidth and other compatibility forms of a letter
// are that letter: "ａlice@" is "alice@"), lower-cases it, and checks that
// it is one plain address of at most 254 bytes, valid UTF-8, without CR,
// LF, NUL or any other control, format (bidi, zero-width) or separator
// character anywhere, its ends included. Every email that reaches the
// store passes through it once.
func CanonicalEmail(raw string) (string, error) {
	email, err := normalizeEmail(raw)
	if err != nil {
		return "", err
	}
	switch {
	case email == "":
		return "", invalidField("email", "is required")
	case len(email) > maxEmailBytes:
		return "", invalidField("email", "is longer than 254 bytes")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return "", invalidField("email", "is not a valid email address")
	}
	return email, nil
}

// normalizeEmail is CanonicalEmail's first step, for an email or a part
// of one: it refuses invalid UTF-8 and control or invisible characters
// (before and after normalization), trims the spaces and tabs around raw,
// and returns its NFKC form in lower case. Errors are *ValidationError.
func normalizeEmail(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		// strings.ToLower would silently turn invalid bytes into U+FFFD.
		return "", invalidField("email", "is not valid UTF-8")
	}
	trimmed := strings.Trim(raw, " \t")
	if strings.IndexFunc(trimmed, isControlOrInvisible) >= 0 {
		return "", invalidField("email", "contains a control or invisible character")
	}
	email := strings.ToLower(norm.NFKC.String(trimmed))
	if strings.IndexFunc(email, isControlOrInvisible) >= 0 {
		return "", invalidField("email", "contains a control or invisible character")
	}
	return email, nil
}

// isControlOrInvisible reports the runes an email address must not hold:
// C0 and C1 controls (CR, LF, NUL, NEL...), format characters (bidi
// overrides, zero-width joiners) and line, paragraph and space separators
// other than the ASCII space, which net/mail already refuses outside quotes.
// net/mail accepts every rune above U+007F in an atom, these included.
func isControlOrInvisible(r rune) bool {
	return r != ' ' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs))
}
