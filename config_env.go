package ginauth

import (
	"fmt"
	"os"
	"strings"
)

// FromEnv reads the Config of the example app's environment (see
// API-CONTRACT.md): GINAUTH_SECRET, GINAUTH_BASE_URL and
// GINAUTH_DATABASE_URL. Unset variables keep their defaults.
func FromEnv() (Config, error) {
	cfg := Config{
		Secret:      os.Getenv("GINAUTH_SECRET"),
		BaseURL:     strings.TrimSpace(os.Getenv("GINAUTH_BASE_URL")),
		DatabaseURL: strings.TrimSpace(os.Getenv("GINAUTH_DATABASE_URL")),
	}
	if cfg.DatabaseURL != "" {
		if _, err := dialectorFor(cfg.DatabaseURL); err != nil {
			return Config{}, fmt.Errorf("GINAUTH_DATABASE_URL: %w", err)
		}
	}
	return cfg, nil
}
