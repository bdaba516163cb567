package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"kelas/app"
	"kelas/store"
)

func runAdminCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("admin create", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	email := f.String("email", "", "email address of the new operator")
	roleName := f.String("role", "operator", "operator, consultant or backoffice")
	first := f.String("first-name", "", "first name (defaults to the part of the email before @)")
	surname := f.String("surname", "", "surname")
	dpo := f.Bool("dpo", false, "also make the account a privacy officer")
	if err := f.parse(args, stdout, stderr); err != nil {
		return err
	}
	role, ok := store.ParseRole(*roleName)
	if !ok || !role.IsOperator() {
		return f.badUsage(stderr, fmt.Sprintf("--role must be operator, consultant or backoffice, not %q", *roleName))
	}
	if *email == "" || !strings.Contains(*email, "@") {
		return f.badUsage(stderr, "--email is required and must be an email address")
	}
	if *first == "" {
		*first, _, _ = strings.Cut(*email, "@")
	}
	password, generated, err := readPassword(stdin)
	if err != nil {
		return err
	}
	// Every account made here is privileged: the same rules as the web forms.
	if msg := app.PasswordProblem(password, true, *email, *first, *surname); !generated && msg != "" {
		return errors.New(msg)
	}
	cost, err := bcryptCost(getenv)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	st, err := openStore(ctx, *dir, getenv, log)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.CreateUser(ctx, store.NewUser{Email: *email, FirstName: *first, Surname: *surname,
		PasswordHash: string(hash), Role: role, DPO: *dpo, Verified: true})
	if errors.Is(err, store.ErrConflict) {
		return errors.New("an account with that email address already exists")
	}
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditEntry{ActorID: store.ActorCLI, Action: store.AuditAdminCreate, TargetType: "user", TargetID: u.ID,
		Details: map[string]any{"role": string(role), "dpo": *dpo}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s account %s\n", role, u.ID)
	if generated {
		fmt.Fprintf(stdout, "password (shown once, store it now): %s\n", password)
	}
	return nil
}

// readPassword takes the first line of stdin when it is piped in; with a
// terminal or nothing piped it generates a strong password instead.
func readPassword(stdin io.Reader) (pw string, generated bool, err error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			stdin = nil
		}
	}
	if stdin != nil {
		line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			if len(line) < 8 || len(line) > 72 {
				return "", false, errors.New("the password must be 8 to 72 bytes")
			}
			return line, false, nil
		}
	}
	return store.NewToken()[:24], true, nil
}
