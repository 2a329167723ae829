package ginauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openAPIDoc fetches and decodes GET /auth/openapi.json.
func openAPIDoc(t *testing.T, a *Auth) map[string]any {
	t.Helper()
	srv := newTestServer(t, a)
	res := do(t, srv, http.MethodGet, "/auth/openapi.json", nil, "")
	require.Equal(t, http.StatusOK, res.Status)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	return doc
}

// TestOpenAPIListsEveryMountedRoute proves the document describes exactly
// the routes Register and RegisterUsers mounted, under their real prefixes.
func TestOpenAPIListsEveryMountedRoute(t *testing.T) {
	doc := openAPIDoc(t, newTestAuth(t, nil))
	assert.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	want := map[string]string{
		"/auth/register":     "post",
		"/auth/login":        "post",
		"/auth/refresh":      "post",
		"/auth/logout":       "post",
		"/auth/openapi.json": "get",
		"/users/me":          "get",
		"/auth/providers":    "get",

		"/auth/{provider}/authorize":           "get",
		"/auth/{provider}/callback":            "post",
		"/auth/{provider}/associate/authorize": "get",
		"/auth/{provider}/associate/callback":  "get",
		"/auth/{provider}/associate":           "delete",

		"/auth/forgot-password":      "post",
		"/auth/reset-password":       "post",
		"/auth/request-verify-token": "post",
		"/auth/verify":               "post",
		"/users/me/sessions":         "get",
		"/users/me/sessions/{id}":    "delete",
		"/users":                     "get",
		"/users/{id}":                "patch",
	}
	for _, method := range []string{"patch", "delete"} {
		assert.Contains(t, paths["/users/me"], method)
	}
	for _, method := range []string{"get", "delete"} {
		assert.Contains(t, paths["/users/{id}"], method)
	}
	assert.Len(t, paths, len(want))
	for path, method := range want {
		item, ok := paths[path].(map[string]any)
		require.True(t, ok, "path %s missing", path)
		assert.Contains(t, item, method, path)
	}
	assert.NotContains(t, paths, "/auth/.well-known/jwks.json", "HMAC keys are never published")
}

// TestOpenAPIOperations checks the details clients rely on: bearer security
// on protected routes, the password flow for Swagger's Authorize button, the
// form body of login and the contract's status codes.
func TestOpenAPIOperations(t *testing.T) {
	doc := openAPIDoc(t, newTestAuth(t, nil))
	paths := doc["paths"].(map[string]any)
	op := func(path, method string) map[string]any {
		return paths[path].(map[string]any)[method].(map[string]any)
	}

	assert.NotNil(t, op("/users/me", "get")["security"])
	assert.NotNil(t, op("/auth/logout", "post")["security"])
	assert.Nil(t, op("/auth/login", "post")["security"])

	login := op("/auth/login", "post")
	content := login["requestBody"].(map[string]any)["content"].(map[string]any)
	assert.Contains(t, content, "application/json")
	assert.Contains(t, content, "application/x-www-form-urlencoded")
	assert.Contains(t, login["responses"], "200")
	assert.Contains(t, login["responses"], "400")
	assert.Contains(t, login["responses"], "422")

	assert.Contains(t, op("/auth/register", "post")["responses"], "201")
	assert.Contains(t, op("/auth/refresh", "post")["responses"], "401")

	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	flow := schemes["password"].(map[string]any)["flows"].(map[string]any)["password"].(map[string]any)
	assert.Equal(t, "/auth/login", flow["tokenUrl"])
}

// TestOpenAPIListsJWKSWithAsymmetricKeys: the JWKS route exists, and is
// documented, only when tokens are signed with a public-key algorithm.
func TestOpenAPIListsJWKSWithAsymmetricKeys(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	a := newTestAuth(t, func(cfg *Config) { cfg.SigningKey = priv })
	paths := openAPIDoc(t, a)["paths"].(map[string]any)
	assert.Contains(t, paths, "/auth/.well-known/jwks.json")
}

// TestOpenAPIPathParameters converts gin's :name segments.
func TestOpenAPIPathParameters(t *testing.T) {
	assert.Equal(t, "/users/{id}", openAPIPath("/users/:id"))
	a := newTestAuth(t, nil)
	r := gin.New()
	a.mount(r.Group("/x"), operation{method: http.MethodGet, path: "/items/:id", success: http.StatusOK}, func(c *gin.Context) {})
	doc := a.openAPIDocument()
	item := doc["paths"].(map[string]map[string]any)["/x/items/{id}"]["get"].(map[string]any)
	params := item["parameters"].([]any)
	require.Len(t, params, 1)
	assert.Equal(t, "id", params[0].(map[string]any)["name"])
}
