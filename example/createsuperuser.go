package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ginauth/ginauth"
	"golang.org/x/term"
)

// superuserPasswordVar holds the password of createsuperuser when no
// terminal is attached to ask for it.
const superuserPasswordVar = "GINAUTH_SUPERUSER_PASSWORD"

// createSuperuser is `example createsuperuser --email EMAIL`: it creates an
// active, verified superuser in the database of the environment (the same
// FromEnv configuration as the server) and prints its id. The password
// comes from GINAUTH_SUPERUSER_PASSWORD, or else is asked twice, without
// echo, on the terminal of stdin.
func createSuperuser(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("createsuperuser", flag.ContinueOnError)
	flags.SetOutput(stderr)
	email := flags.String("email", "", "email address of the new superuser (required)")
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: example createsuperuser --email EMAIL\n\n"+
			"Creates a verified superuser in the database of GINAUTH_DATABASE_URL.\n"+
			"The password is read from %s, or asked on the terminal.\n\n", superuserPasswordVar)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errors.New("createsuperuser: " + err.Error())
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("createsuperuser: unexpected argument %q; usage: example createsuperuser --email EMAIL", flags.Arg(0))
	}
	if strings.TrimSpace(*email) == "" {
		return errors.New("createsuperuser: --email is required; usage: example createsuperuser --email EMAIL")
	}
	cfg, err := ginauth.FromEnv()
	if err != nil {
		return err
	}
	defer closeRateLimiter(cfg)
	password, err := superuserPassword(stdin, stderr)
	if err != nil {
		return err
	}
	auth, err := ginauth.New(cfg)
	if err != nil {
		return err
	}
	defer auth.Close()

	user, err := auth.CreateUser(ctx, ginauth.NewUser{Email: *email, Password: password, IsSuperuser: true, IsVerified: true})
	var perr *ginauth.PasswordError
	var verr *ginauth.ValidationError
	switch {
	case errors.Is(err, ginauth.ErrUserAlreadyExists):
		return fmt.Errorf("createsuperuser: a user with the email %s already exists", strings.TrimSpace(*email))
	case errors.As(err, &perr):
		return fmt.Errorf("createsuperuser: password refused: %s", perr.Reason)
	case errors.As(err, &verr):
		return fmt.Errorf("createsuperuser: %s", strings.TrimPrefix(verr.Error(), "ginauth: "))
	case err != nil:
		return fmt.Errorf("createsuperuser: %w", err)
	}
	fmt.Fprintf(stdout, "superuser %s created, id %s\n", user.Email, user.ID)
	return nil
}

// superuserPassword returns GINAUTH_SUPERUSER_PASSWORD when it is set, or
// else the password typed twice on the terminal of stdin.
func superuserPassword(stdin *os.File, prompts io.Writer) (string, error) {
	if p, ok := os.LookupEnv(superuserPasswordVar); ok && p != "" {
		return p, nil
	}
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("createsuperuser: no terminal to ask for the password: set %s", superuserPasswordVar)
	}
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(prompts, prompt)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(prompts)
		if err != nil {
			return nil, fmt.Errorf("createsuperuser: reading the password: %w", err)
		}
		return p, nil
	}
	first, err := read("Password: ")
	if err != nil {
		return "", err
	}
	second, err := read("Password (again): ")
	if err != nil {
		return "", err
	}
	if !bytes.Equal(first, second) {
		return "", errors.New("createsuperuser: the passwords do not match")
	}
	return string(first), nil
}
