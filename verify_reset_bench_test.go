package ginauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// BenchmarkForgotPasswordAnswer measures the 202 answer of
// /forgot-password for an email with an account and one without, side by
// side in one run: the two must cost the same, since the answer is sent
// before the email is looked up. The background work (lookup, token, mail)
// is waited for outside the timed region.
//
//	go test -run '^$' -bench ForgotPasswordAnswer -benchmem -count 5 .
func BenchmarkForgotPasswordAnswer(b *testing.B) {
	a := newTestAuth(b, nil)
	r := gin.New()
	a.Register(r.Group("/auth"))
	_, err := a.CreateUser(context.Background(), NewUser{Email: "known@example.com", Password: lifecyclePassword})
	require.NoError(b, err)
	for _, email := range []string{"known@example.com", "unknown@example.com"} {
		b.Run(strings.SplitN(email, "@", 2)[0], func(b *testing.B) {
			body := `{"email":"` + email + `"}`
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/auth/forgot-password", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					b.Fatalf("status %d", rec.Code)
				}
				b.StopTimer()
				a.background.Wait()
				b.StartTimer()
			}
		})
	}
}
