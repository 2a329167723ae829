package ginauth

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCanonicalEmail proves that CanonicalEmail trims and lower-cases an
// address, and refuses everything that is not one plain address: control
// and invisible characters, over-long addresses, display names, lists,
// comments, quoted local parts and domains without a dot.
func TestCanonicalEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254 bytes
	require.Len(t, long, 254)

	valid := []struct {
		name, in, want string
	}{
		{"plain", "alice@example.com", "alice@example.com"},
		{"upper case", "Alice@Example.COM", "alice@example.com"},
		{"surrounding spaces", "  bob@example.com\t", "bob@example.com"},
		{"fullwidth letters", "ａｌｉｃｅ@ｅｘａｍｐｌｅ.com", "alice@example.com"},
		{"fullwidth capitals and at sign", "ＡLICE＠example.com", "alice@example.com"},
		{"plus and dots", "first.last+tag@mail.example.org", "first.last+tag@mail.example.org"},
		{"exactly 254 bytes", long, long},
		{"non-ASCII letters", "Jürgen@Exämple.de", "jürgen@exämple.de"},
	}
	for _, tc := range valid {
		t.Run("valid/"+tc.name, func(t *testing.T) {
			got, err := CanonicalEmail(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	invalid := []struct {
		name, in, message string
	}{
		{"empty", "", "is required"},
		{"spaces only", "   ", "is required"},
		{"255 bytes", "a" + long, "longer than 254 bytes"},
		{"CR inside", "a\rb@example.com", "control"},
		{"LF at the end", "bob@example.com\n", "control"},
		{"CR LF around", "\r\nbob@example.com\r\n", "control"},
		{"LF inside", "a@example.com\nBcc: victim@example.com", "control"},
		{"CRLF header injection", "a@example.com\r\nBcc: x@example.com", "control"},
		{"NUL", "a\x00b@example.com", "control"},
		{"NUL at the end", "a@example.com\x00", "control"},
		{"tab inside", "a\tb@example.com", ""},
		{"C1 control NEL", "a\u0085b@example.com", "control"},
		{"bidi override", "a\u202eb@example.com", "control"},
		{"zero-width space", "a\u200bb@example.com", "control"},
		{"line separator", "a\u2028b@example.com", "control"},
		{"no-break space inside", "a@exam\u00a0ple.com", "control"},
		{"invalid UTF-8", "a\xffb@example.com", "UTF-8"},
		{"display name", "Bob <b@x.com>", "not a valid email address"},
		{"angle brackets", "<b@x.com>", "not a valid email address"},
		{"quoted display name", `"Bob" <b@x.com>`, "not a valid email address"},
		{"two addresses", "a@x.com, b@x.com", "not a valid email address"},
		{"two addresses, semicolon", "a@x.com; b@x.com", "not a valid email address"},
		{"comment", "a(comment)@x.com", "not a valid email address"},
		{"quoted local part", `"a b"@x.com`, "not a valid email address"},
		{"no at sign", "alice.example.com", "not a valid email address"},
		{"two at signs", "a@b@example.com", "not a valid email address"},
		{"no dot in domain", "alice@localhost", "not a valid email address"},
		{"empty local part", "@example.com", "not a valid email address"},
		{"empty domain", "alice@", "not a valid email address"},
		{"leading dot", ".alice@example.com", "not a valid email address"},
		{"double dot", "al..ice@example.com", "not a valid email address"},
		{"trailing dot in domain", "alice@example.com.", "not a valid email address"},
		{"space inside", "al ice@example.com", "not a valid email address"},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			got, err := CanonicalEmail(tc.in)
			require.Error(t, err, "accepted as %q", got)
			assert.Empty(t, got)
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Errors, 1)
			assert.Equal(t, "email", verr.Errors[0].Field)
			assert.Contains(t, verr.Errors[0].Message, tc.message)
		})
	}
}

// FuzzCanonicalEmail proves, on arbitrary input, that an accepted address
// is lower-case, at most 254 bytes, valid UTF-8 without control or
// invisible characters or surrounding space, and already canonical:
// CanonicalEmail(CanonicalEmail(x)) == CanonicalEmail(x). A refusal is
// always a ValidationError on the email field.
func FuzzCanonicalEmail(f *testing.F) {
	for _, seed := range []string{
		"alice@example.com", " Alice@Example.COM ", "Bob <b@x.com>", "a@x.com, b@x.com",
		"a\r\nb@x.com", "a\u0085@x.com", "İ@x.com", "a@localhost", `"a b"@x.com`, "a\xff@x.com",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := CanonicalEmail(raw)
		if err != nil {
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.Len(t, verr.Errors, 1)
			require.Equal(t, "email", verr.Errors[0].Field)
			require.Empty(t, got)
			return
		}
		require.True(t, utf8.ValidString(got), "not UTF-8: %q", got)
		require.Equal(t, strings.ToLower(got), got, "not lower-case")
		require.LessOrEqual(t, len(got), maxEmailBytes)
		require.Equal(t, strings.TrimSpace(got), got, "not trimmed")
		require.Equal(t, 1, strings.Count(got, "@"), "not one address: %q", got)
		for _, r := range got {
			require.False(t, unicode.IsControl(r), "control character %U in %q", r, got)
			require.False(t, unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Zs), "invisible character %U in %q", r, got)
		}
		again, err := CanonicalEmail(got)
		require.NoError(t, err, "canonical form %q refused", got)
		require.Equal(t, got, again, "not idempotent")
	})
}

// TestNormalizeEmail proves CanonicalEmail's first step on its own, as
// the user list's filter uses it for a part of an address: trimmed, NFKC,
// lower-cased, no shape check; invalid UTF-8 and control or invisible
// characters refused.
func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  OTHER.org\t":  "other.org",
		"ＯＴＨＥＲ．ｏｒｇ":      "other.org",
		"ａlice@":         "alice@",
		"not an address": "not an address",
		"":               "",
	} {
		got, err := normalizeEmail(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, in := range []string{"a\x00b", "a\u200bb", "\xff", "a\nb"} {
		_, err := normalizeEmail(in)
		var verr *ValidationError
		require.ErrorAs(t, err, &verr, "%q", in)
		assert.Equal(t, "email", verr.Errors[0].Field)
	}
}

// decodeTarget is the shape decodeJSON fills in these tests.
type decodeTarget struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
	Count    int     `json:"count"`
}

// decodeRequest runs decodeJSON on a request with the given content type
// and body, through a gin test context.
func decodeRequest(t testing.TB, maxBody int64, contentType string, body []byte, optional bool) (decodeTarget, error) {
	t.Helper()
	a := &Auth{cfg: Config{MaxBodyBytes: maxBody}}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(body))
	if contentType != "" {
		c.Request.Header.Set("Content-Type", contentType)
	}
	var dst decodeTarget
	err := a.decodeJSON(c, &dst, optional)
	return dst, err
}

// TestDecodeJSON proves that decodeJSON accepts exactly one JSON object of
// the right shape, ignores unknown fields, and answers trailing data, a
// second value, invalid UTF-8, non-objects and wrong types with a
// ValidationError naming the field (422); another content type with
// errUnsupportedMediaType (415) and an over-long body with errBodyTooLarge
// (413).
func TestDecodeJSON(t *testing.T) {
	const jsonType = "application/json"
	cases := []struct {
		name        string
		contentType string
		body        string
		optional    bool
		wantErr     error  // sentinel, when not a ValidationError
		wantField   string // field of the ValidationError, when one is expected
		check       func(t *testing.T, got decodeTarget)
	}{
		{name: "object", contentType: jsonType, body: `{"email":"a@x.com","password":"pw","count":3}`,
			check: func(t *testing.T, got decodeTarget) {
				require.NotNil(t, got.Email)
				require.NotNil(t, got.Password)
				assert.Equal(t, "a@x.com", *got.Email)
				assert.Equal(t, "pw", *got.Password)
				assert.Equal(t, 3, got.Count)
			}},
		{name: "unknown fields ignored", contentType: jsonType, body: `{"email":"a@x.com","is_superuser":true,"x":{"y":[1]}}`,
			check: func(t *testing.T, got decodeTarget) {
				require.NotNil(t, got.Email)
				assert.Nil(t, got.Password)
			}},
		{name: "surrounding whitespace", contentType: jsonType, body: " \n{\"count\":1}\n ",
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, 1, got.Count) }},
		{name: "charset parameter", contentType: "application/json; charset=utf-8", body: `{"count":2}`,
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, 2, got.Count) }},
		{name: "media type case", contentType: "Application/JSON", body: `{"count":2}`,
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, 2, got.Count) }},
		{name: "trailing garbage", contentType: jsonType, body: `{"count":1} x`, wantField: "body"},
		{name: "trailing bracket", contentType: jsonType, body: `{"count":1}]`, wantField: "body"},
		{name: "two objects", contentType: jsonType, body: `{"count":1}{"count":2}`, wantField: "body"},
		{name: "two objects with space", contentType: jsonType, body: `{"count":1} {"count":2}`, wantField: "body"},
		{name: "object then number", contentType: jsonType, body: `{"count":1} 2`, wantField: "body"},
		{name: "invalid UTF-8", contentType: jsonType, body: "{\"email\":\"a\xff@x.com\"}", wantField: "body"},
		{name: "truncated", contentType: jsonType, body: `{"email":"a@x.com"`, wantField: "body"},
		{name: "not JSON", contentType: jsonType, body: `email=a@x.com`, wantField: "body"},
		{name: "array", contentType: jsonType, body: `[{"email":"a@x.com"}]`, wantField: "body"},
		{name: "string", contentType: jsonType, body: `"a@x.com"`, wantField: "body"},
		{name: "empty body", contentType: jsonType, body: ``, wantField: "body"},
		{name: "email is a number", contentType: jsonType, body: `{"email":5,"password":"pw"}`, wantField: "email"},
		{name: "password is an object", contentType: jsonType, body: `{"email":"a@x.com","password":{"$ne":""}}`, wantField: "password"},
		{name: "count is a string", contentType: jsonType, body: `{"count":"1"}`, wantField: "count"},
		{name: "count is a float", contentType: jsonType, body: `{"count":1.5}`, wantField: "count"},
		{name: "text/plain", contentType: "text/plain", body: `{"count":1}`, wantErr: errUnsupportedMediaType},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `count=1`, wantErr: errUnsupportedMediaType},
		{name: "json suffix type", contentType: "application/merge-patch+json", body: `{"count":1}`, wantErr: errUnsupportedMediaType},
		{name: "no content type", body: `{"count":1}`, wantErr: errUnsupportedMediaType},
		{name: "garbage content type", contentType: ";;;", body: `{"count":1}`, wantErr: errUnsupportedMediaType},
		{name: "optional, empty, no content type", body: ``, optional: true,
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, decodeTarget{}, got) }},
		{name: "optional, whitespace", contentType: jsonType, body: "  \n", optional: true,
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, decodeTarget{}, got) }},
		{name: "optional, object", contentType: jsonType, body: `{"count":4}`, optional: true,
			check: func(t *testing.T, got decodeTarget) { assert.Equal(t, 4, got.Count) }},
		{name: "optional, malformed", contentType: jsonType, body: `{`, optional: true, wantField: "body"},
		{name: "optional, wrong content type", contentType: "text/plain", body: `{}`, optional: true, wantErr: errUnsupportedMediaType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeRequest(t, 1<<10, tc.contentType, []byte(tc.body), tc.optional)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case tc.wantField != "":
				var verr *ValidationError
				require.ErrorAs(t, err, &verr)
				require.NotEmpty(t, verr.Errors)
				assert.Equal(t, tc.wantField, verr.Errors[0].Field)
				assert.NotEmpty(t, verr.Errors[0].Message)
			default:
				require.NoError(t, err)
				tc.check(t, got)
			}
		})
	}
}

// TestDecodeJSONSizeCap proves that the body cap is exact: a body of
// MaxBodyBytes is read, one byte more is errBodyTooLarge.
func TestDecodeJSONSizeCap(t *testing.T) {
	const limit = 256
	fill := func(n int) []byte { // {"email":"aaa…"} of exactly n bytes
		prefix, suffix := `{"email":"`, `"}`
		return []byte(prefix + strings.Repeat("a", n-len(prefix)-len(suffix)) + suffix)
	}
	got, err := decodeRequest(t, limit, "application/json", fill(limit), false)
	require.NoError(t, err)
	require.NotNil(t, got.Email)
	assert.Len(t, *got.Email, limit-12)

	_, err = decodeRequest(t, limit, "application/json", fill(limit+1), false)
	require.ErrorIs(t, err, errBodyTooLarge)
}

// TestDecodeJSONWrongTypeMessage proves that a type error names the field
// and the expected type, so the client knows what to change.
func TestDecodeJSONWrongTypeMessage(t *testing.T) {
	_, err := decodeRequest(t, 1<<10, "application/json", []byte(`{"email":true}`), false)
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	require.Len(t, verr.Errors, 1)
	assert.Equal(t, FieldError{Field: "email", Message: "must be of type string"}, verr.Errors[0])
	assert.Equal(t, "ginauth: invalid email: must be of type string", err.Error())
}

// FuzzDecodeJSON proves that decodeJSON never panics on any body, and that
// it either decodes a body that is valid JSON or refuses it with a
// ValidationError or errBodyTooLarge, nothing else.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@x.com","password":"pw"}`, `{"count":1}{"count":2}`, `[]`, `null`, `{"email":5}`,
		"{\"email\":\"\xff\"}", `{"count":1e400}`, `{"email":"\ud800"}`, `{`, ``, `{"a":` + strings.Repeat("[", 100),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 512
		_, err := decodeRequest(t, limit, "application/json", body, false)
		if err == nil {
			require.LessOrEqual(t, len(body), limit)
			require.True(t, utf8.Valid(body))
			return
		}
		var verr *ValidationError
		if errors.As(err, &verr) {
			require.NotEmpty(t, verr.Errors)
			return
		}
		require.ErrorIs(t, err, errBodyTooLarge)
		require.Greater(t, len(body), limit)
	})
}
