package ginauth

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// operation describes one mounted route for the OpenAPI document.
type operation struct {
	method    string
	path      string // full path, gin style (":id")
	summary   string
	auth      bool   // needs a bearer access token
	request   string // schema name of the JSON body, "" for none
	form      bool   // also takes the OAuth2 password form
	success   int
	response  string // schema name of the success body, "" for none
	errorCode []int  // error statuses besides 422/500/503
	noCSRF    bool   // exempt from the cookie transport's CSRF guard
	optional  bool   // the JSON body may be left out
}

// routeBook records what Register and RegisterUsers mounted.
type routeBook struct {
	mu  sync.Mutex
	ops []operation
}

// mount registers a route on g and records it for the OpenAPI document.
func (a *Auth) mount(g *gin.RouterGroup, op operation, handlers ...gin.HandlerFunc) {
	if a.cookieMode() {
		if isUnsafe(op.method) && !op.noCSRF {
			handlers = append([]gin.HandlerFunc{a.csrfGuard}, handlers...)
			op.errorCode = append(append([]int(nil), op.errorCode...), http.StatusForbidden)
		}
		if op.response == "TokenResponse" { // the tokens go in cookies
			op.success, op.response = http.StatusNoContent, ""
		}
	}
	g.Handle(op.method, op.path, handlers...)
	a.routes.mu.Lock()
	defer a.routes.mu.Unlock()
	op.path = strings.TrimSuffix(g.BasePath(), "/") + op.path
	a.routes.ops = append(a.routes.ops, op)
}

func (b *routeBook) snapshot() []operation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]operation(nil), b.ops...)
}

// handleOpenAPI: GET /openapi.json → the OpenAPI 3.1 document of every
// route this Auth mounted.
func (a *Auth) handleOpenAPI(c *gin.Context) {
	c.JSON(http.StatusOK, a.openAPIDocument())
}

// openAPIDocument builds the OpenAPI 3.1 document from the route book.
func (a *Auth) openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	loginPath := ""
	for _, op := range a.routes.snapshot() {
		path := openAPIPath(op.path)
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(op.method)] = op.document()
		if strings.HasSuffix(op.path, "/login") {
			loginPath = op.path
		}
	}
	schemes := map[string]any{
		"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
	}
	if loginPath != "" {
		schemes["password"] = map[string]any{"type": "oauth2", "flows": map[string]any{
			"password": map[string]any{"tokenUrl": loginPath, "scopes": map[string]any{}},
		}}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": "ginauth", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": schemes,
			"schemas":         openAPISchemas,
		},
	}
}

// openAPIPath turns gin's ":id" parameters into OpenAPI's "{id}".
func openAPIPath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

func (op operation) document() map[string]any {
	responses := map[string]any{}
	if op.response != "" {
		responses[strconv.Itoa(op.success)] = jsonContent("", op.response)
	} else {
		responses[strconv.Itoa(op.success)] = map[string]any{"description": http.StatusText(op.success)}
	}
	statuses := append([]int{http.StatusInternalServerError, http.StatusServiceUnavailable}, op.errorCode...)
	if op.request != "" {
		statuses = append(statuses, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	sort.Ints(statuses)
	for _, status := range statuses {
		schema := "Error"
		if status == http.StatusUnprocessableEntity {
			schema = "ValidationError"
		}
		responses[strconv.Itoa(status)] = jsonContent(http.StatusText(status), schema)
	}
	doc := map[string]any{"summary": op.summary, "responses": responses}
	var params []any
	for _, p := range strings.Split(op.path, "/") {
		if strings.HasPrefix(p, ":") {
			params = append(params, map[string]any{"name": p[1:], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	if params != nil {
		doc["parameters"] = params
	}
	if op.auth {
		doc["security"] = []any{map[string]any{"bearer": []any{}}, map[string]any{"password": []any{}}}
	}
	if op.request != "" {
		content := map[string]any{"application/json": map[string]any{"schema": ref(op.request)}}
		if op.form {
			content["application/x-www-form-urlencoded"] = map[string]any{"schema": ref("PasswordForm")}
		}
		doc["requestBody"] = map[string]any{"required": !op.optional, "content": content}
	}
	return doc
}

func jsonContent(description, schema string) map[string]any {
	if description == "" {
		description = schema
	}
	return map[string]any{
		"description": description,
		"content":     map[string]any{"application/json": map[string]any{"schema": ref(schema)}},
	}
}

func ref(schema string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + schema}
}

func object(required []string, props map[string]any) map[string]any {
	schema := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return schema
}

var (
	schemaString   = map[string]any{"type": "string"}
	schemaBool     = map[string]any{"type": "boolean"}
	schemaInt      = map[string]any{"type": "integer"}
	schemaEmail    = map[string]any{"type": "string", "format": "email", "maxLength": maxEmailBytes}
	schemaPassword = map[string]any{"type": "string", "minLength": MinPasswordLength, "maxLength": MaxPasswordLength}
)

// openAPISchemas are the components of the contract's bodies.
var openAPISchemas = map[string]any{
	"Credentials":          object([]string{"email", "password"}, map[string]any{"email": schemaEmail, "password": schemaPassword}),
	"PasswordForm":         object([]string{"username", "password"}, map[string]any{"username": schemaString, "password": schemaString}),
	"RefreshRequest":       object([]string{"refresh_token"}, map[string]any{"refresh_token": schemaString}),
	"EmailRequest":         object([]string{"email"}, map[string]any{"email": schemaEmail}),
	"VerifyRequest":        object([]string{"token"}, map[string]any{"token": schemaString}),
	"ResetPasswordRequest": object([]string{"token", "password"}, map[string]any{"token": schemaString, "password": schemaPassword}),
	"LogoutRequest":        object(nil, map[string]any{"refresh_token": schemaString}),
	"TokenResponse": object([]string{"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}, map[string]any{
		"access_token": schemaString, "token_type": schemaString, "expires_in": schemaInt, "refresh_token": schemaString, "refresh_expires_in": schemaInt,
	}),
	"OAuthAccountRead": object([]string{"oauth_name", "account_id", "account_email"}, map[string]any{
		"oauth_name": schemaString, "account_id": schemaString, "account_email": schemaString,
	}),
	"UserRead": object([]string{"id", "email", "is_active", "is_superuser", "is_verified", "created_at", "oauth_accounts"}, map[string]any{
		"id": map[string]any{"type": "string", "format": "uuid"}, "email": schemaEmail,
		"is_active": schemaBool, "is_superuser": schemaBool, "is_verified": schemaBool,
		"created_at":     map[string]any{"type": "string", "format": "date-time"},
		"oauth_accounts": map[string]any{"type": "array", "items": ref("OAuthAccountRead")},
	}),
	"UserUpdate": object(nil, map[string]any{
		"email": schemaEmail, "password": schemaPassword, "current_password": schemaString,
	}),
	"UserAdminUpdate": object(nil, map[string]any{
		"email": schemaEmail, "password": schemaPassword, "is_active": schemaBool, "is_superuser": schemaBool, "is_verified": schemaBool,
	}),
	"DeleteMe": object(nil, map[string]any{
		"current_password": schemaString,
	}),
	"SessionList": object([]string{"sessions"}, map[string]any{
		"sessions": map[string]any{"type": "array", "items": object([]string{"id", "created_at", "last_used_at", "user_agent", "ip", "current"}, map[string]any{
			"id": map[string]any{"type": "string", "format": "uuid"}, "created_at": map[string]any{"type": "string", "format": "date-time"},
			"last_used_at": map[string]any{"type": "string", "format": "date-time"}, "user_agent": schemaString, "ip": schemaString, "current": schemaBool,
		})},
	}),
	"UserPage": object([]string{"items", "total"}, map[string]any{
		"items": map[string]any{"type": "array", "items": ref("UserRead")}, "total": schemaInt,
	}),
	"Error": object([]string{"detail"}, map[string]any{"detail": map[string]any{"oneOf": []any{
		schemaString,
		object([]string{"code", "reason"}, map[string]any{"code": schemaString, "reason": schemaString}),
	}}}),
	"ValidationError": object([]string{"detail", "errors"}, map[string]any{
		"detail": map[string]any{"const": string(CodeValidationError)},
		"errors": map[string]any{"type": "array", "items": object([]string{"field", "message"}, map[string]any{"field": schemaString, "message": schemaString})},
	}),
}
