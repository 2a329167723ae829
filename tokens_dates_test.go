package ginauth

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessTokenDatesMustBeNumbers proves RFC 7519's NumericDate rule: an
// exp, iat or nbf sent as a JSON string (which golang-jwt would read) or as
// another JSON type is refused, even correctly signed, while the same
// token with numbers passes.
func TestAccessTokenDatesMustBeNumbers(t *testing.T) {
	e := newAtkEnv(t, nil)
	control := e.forge(t, nil, nil)
	atkRequireOK(t, e.get(t, "Bearer "+control))
	cases := map[string]func(jwt.MapClaims){
		"exp as string": func(c jwt.MapClaims) { c["exp"] = strconv.FormatInt(c["exp"].(int64), 10) },
		"iat as string": func(c jwt.MapClaims) { c["iat"] = strconv.FormatInt(c["iat"].(int64), 10) },
		"nbf as string": func(c jwt.MapClaims) { c["nbf"] = strconv.FormatInt(c["iat"].(int64), 10) },
		"exp as bool":   func(c jwt.MapClaims) { c["exp"] = true },
		"exp as object": func(c jwt.MapClaims) { c["exp"] = map[string]any{"n": 1} },
		"iat as array":  func(c jwt.MapClaims) { c["iat"] = []int64{c["iat"].(int64)} },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			token := e.forge(t, nil, edit)
			_, err := e.auth.VerifyAccessToken(token)
			require.ErrorIs(t, err, ErrInvalidToken)
			assert.Equal(t, http.StatusUnauthorized, e.get(t, "Bearer "+token).Status)
		})
	}
	t.Run("nbf as a number is fine", func(t *testing.T) {
		token := e.forge(t, nil, func(c jwt.MapClaims) { c["nbf"] = c["iat"] })
		atkRequireOK(t, e.get(t, "Bearer "+token))
	})
}
