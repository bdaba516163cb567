// Command kelas is a privacy-first online training portal: one static binary
// with an embedded, encrypted SQLite store. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"kelas/store"
	"kelas/store/crypt"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ue usageError
	switch {
	case errors.As(err, &ue):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "kelas:", err)
		os.Exit(1)
	}
}

// usageError means the command line was wrong; usage has been printed and
// the process exits with 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `kelas: a privacy-first online training portal

Usage:
  kelas [serve] [--addr 127.0.0.1:8080] [--data ./kelas-data] [--base-url URL] [--domain NAME] [--demo]
                [--https-addr :443] [--http-addr :80]
  kelas admin create --email E [--role operator|consultant|backoffice] [--first-name N] [--surname N] [--data DIR]
  kelas keys rotate [--data DIR]
  kelas keys rotate --new-master-key-file FILE [--data DIR] [--recipient AGE_PUBLIC_KEY]
  kelas backup [--data DIR] [--recipient AGE_PUBLIC_KEY]
  kelas restore [--data DIR] [--keys KEYS_BACKUP] [--identity FILE] FILE
  kelas restore [--data DIR] [--identity FILE] --from TARGET_URL [--at STAMP]
  kelas audit verify [--data DIR]
  kelas doctor [--data DIR]
  kelas healthcheck [--addr 127.0.0.1:8080]
  kelas version

Every flag has a KELAS_* environment fallback (KELAS_ADDR, KELAS_DATA, ...).
The master key comes from KELAS_MASTER_KEY (base64 of 32 bytes) or
KELAS_MASTER_KEY_FILE; on the very first run kelas creates DATA/master.key.
With --domain, certificates come from KELAS_ACME_DIRECTORY (default Let's
Encrypt), trusting KELAS_ACME_CA_ROOT (a PEM file) for a private ACME server;
KELAS_ACME_EMAIL receives expiry notices.
`

// run is the whole program behind main, with its surroundings passed in so
// tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "version":
		if len(args) > 0 {
			return badUsage(stderr, "version takes no arguments")
		}
		fmt.Fprintln(stdout, versionString())
		return nil
	case "admin":
		if len(args) == 0 || args[0] != "create" {
			return badUsage(stderr, "unknown admin command; did you mean `kelas admin create`?")
		}
		return runAdminCreate(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "keys":
		if len(args) == 0 || args[0] != "rotate" {
			return badUsage(stderr, "unknown keys command; did you mean `kelas keys rotate`?")
		}
		return runKeysRotate(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stdout, stderr)
	case "audit":
		if len(args) == 0 || args[0] != "verify" {
			return badUsage(stderr, "unknown audit command; did you mean `kelas audit verify`?")
		}
		return runAuditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return badUsage(stderr, fmt.Sprintf("unknown command %q", cmd))
}

func badUsage(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "kelas: %s\n\n%s", msg, usage)
	return usageError{msg}
}

// flags is a flag set whose defaults fall back to KELAS_* variables.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
}

func newFlags(name string, getenv func(string) string) flags {
	fs := flag.NewFlagSet("kelas "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return flags{fs, getenv}
}

func (f flags) str(name, env, def, help string) *string {
	if v := f.getenv(env); v != "" {
		def = v
	}
	return f.String(name, def, help+" ("+env+")")
}

func (f flags) parse(args []string, stderr io.Writer) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, usage)
			return usageError{"help"}
		}
		return badUsage(stderr, err.Error())
	}
	if f.NArg() > 0 {
		return badUsage(stderr, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
	}
	return nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// openStore loads the master key for dir and opens the store. A new key is
// created only when dir holds no database.
func openStore(ctx context.Context, dir string, getenv func(string) string, log *slog.Logger) (*store.Store, error) {
	mk, err := loadMasterKey(dir, getenv, !store.Exists(dir))
	if err != nil {
		return nil, err
	}
	if mk.Created {
		log.Warn("created a new master key", "path", mk.Source)
	}
	for _, w := range mk.Warnings {
		log.Warn(w)
	}
	return store.Open(ctx, store.Options{Dir: dir, MasterKey: mk.Key})
}

// loadMasterKey resolves the master key of dir from KELAS_MASTER_KEY,
// KELAS_MASTER_KEY_FILE or DIR/master.key; fresh allows creating one.
func loadMasterKey(dir string, getenv func(string) string, fresh bool) (crypt.MasterKey, error) {
	return crypt.LoadMasterKey(crypt.MasterKeyOptions{
		Base64:    getenv("KELAS_MASTER_KEY"),
		File:      getenv("KELAS_MASTER_KEY_FILE"),
		DataDir:   dir,
		FreshData: fresh,
	})
}
