package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// getJSON GETs url with the access token as a bearer token and decodes the
// JSON answer into dst. The body is capped at maxResponseBytes. A 401 or
// 403 is ErrInvalidGrant; any other failure is ErrProviderUnavailable.
func getJSON(ctx context.Context, client *http.Client, url, accessToken string, dst any, header ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return doJSON(client, req, dst)
}

// doJSON sends a prepared request and decodes its JSON answer, with the
// same limits and errors as getJSON.
func doJSON(client *http.Client, req *http.Request, dst any) error {
	body, _, err := doBody(client, req)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("%w: %s: malformed JSON: %v", ErrProviderUnavailable, req.URL.Path, err)
	}
	return nil
}

// doBody sends a prepared request and returns its body and Content-Type,
// with the same limits and errors as getJSON, for answers that may not be
// JSON (a userinfo answer signed as a JWT).
func doBody(client *http.Client, req *http.Request) ([]byte, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s %s: %v", ErrProviderUnavailable, req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrProviderUnavailable, req.URL.Path, err)
	}
	if len(body) > maxResponseBytes {
		return nil, "", fmt.Errorf("%w: %s: response larger than %d bytes", ErrProviderUnavailable, req.URL.Path, maxResponseBytes)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, "", fmt.Errorf("%w: %s answered %d", ErrInvalidGrant, req.URL.Path, resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, "", fmt.Errorf("%w: %s answered %d", ErrProviderUnavailable, req.URL.Path, resp.StatusCode)
	}
	return body, resp.Header.Get("Content-Type"), nil
}
