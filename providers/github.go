package providers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// githubAPIVersion is the REST API version every profile call asks for.
const githubAPIVersion = "2022-11-28"

// GitHub returns the GitHub provider: name "github", scopes "read:user"
// and "user:email".
//
// WithBaseURL(base) selects a GitHub Enterprise Server: the web flow runs
// at base/login/oauth/... and the REST API at base/api/v3.
//
// The profile's AccountID is GitHub's numeric user id, never the login,
// which its owner can change and someone else can then take. Email is
// the primary address of GET /user/emails only when GitHub marks it
// verified; otherwise Email is "" and EmailVerified false. The public
// `email` of GET /user is never used: it may be unverified. When the
// token cannot read /user/emails (the user:email scope was not granted,
// or a GitHub App lacks the email permission) the profile has no email.
//
// GitHub's token endpoint answers a bad code with HTTP 200 and an `error`
// field; golang.org/x/oauth2 turns that into a *oauth2.RetrieveError, so
// Exchange returns ErrInvalidGrant, never a token.
func GitHub(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	web, api := "https://github.com", "https://api.github.com"
	if o.baseURL != "" {
		web = baseOr(o.baseURL, "")
		api = web + "/api/v3"
	}
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   web + "/login/oauth/authorize",
			TokenURL:  web + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"read:user", "user:email"},
	}
	return &githubProvider{
		oauth2Flow: newOAuth2Flow("github", "GitHub", cfg, o),
		apiURL:     api,
	}
}

type githubProvider struct {
	oauth2Flow
	apiURL string
}

type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// Profile reads GET /user and GET /user/emails.
func (p *githubProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	headers := []string{"Accept", "application/vnd.github+json", "X-GitHub-Api-Version", githubAPIVersion}
	var user githubUser
	if err := getJSON(ctx, p.client, p.apiURL+"/user", token, &user, headers...); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, fmt.Errorf("%w: github: /user has no id", ErrProviderUnavailable)
	}
	profile := &Profile{
		AccountID: strconv.FormatInt(user.ID, 10),
		Name:      user.Name,
		AvatarURL: user.AvatarURL,
	}
	if profile.Name == "" {
		profile.Name = user.Login
	}
	if !githubMayReadEmails(tokens.Token) {
		return profile, nil
	}
	var emails []githubEmail
	err = getJSON(ctx, p.client, p.apiURL+"/user/emails?per_page=100", token, &emails, headers...)
	switch {
	case errors.Is(err, ErrInvalidGrant):
		// The token that just read /user may not read emails (a GitHub
		// App without the email permission answers 403): no email.
		return profile, nil
	case err != nil:
		return nil, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			profile.Email, profile.EmailVerified = e.Email, true
			break
		}
	}
	return profile, nil
}

// githubMayReadEmails reports whether the token's granted scopes (GitHub
// lists them, comma-separated, in the token response) allow GET
// /user/emails. Tokens without a scope list (GitHub App user tokens,
// tokens built elsewhere) are tried.
func githubMayReadEmails(tok *oauth2.Token) bool {
	granted, _ := tok.Extra("scope").(string)
	if granted == "" {
		return true
	}
	for _, s := range strings.FieldsFunc(granted, func(r rune) bool { return r == ',' || r == ' ' }) {
		if s == "user:email" || s == "user" {
			return true
		}
	}
	return false
}
