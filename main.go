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
	_ "time/tzdata" // the image is scratch: the zone database travels in the binary

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

// run is the whole program behind main, with its surroundings passed in so
// tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	// `kelas admin -h` is the help of `kelas admin create`, and so on.
	sub := func(name string) ([]string, bool) {
		switch {
		case len(args) > 0 && args[0] == name:
			return args[1:], true
		case len(args) > 0 && isHelpFlag(args[0]):
			return args, true
		}
		return nil, false
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, getenv, stdout, stderr)
	case "version":
		return runVersion(ctx, args, getenv, stdout, stderr)
	case "admin":
		rest, ok := sub("create")
		if !ok {
			return badUsage(stderr, "unknown admin command; did you mean `kelas admin create`?")
		}
		return runAdminCreate(ctx, rest, getenv, stdin, stdout, stderr)
	case "keys":
		rest, ok := sub("rotate")
		if !ok {
			return badUsage(stderr, "unknown keys command; did you mean `kelas keys rotate`?")
		}
		return runKeysRotate(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, getenv, stdout, stderr)
	case "audit":
		rest, ok := sub("verify")
		if !ok {
			return badUsage(stderr, "unknown audit command; did you mean `kelas audit verify`?")
		}
		return runAuditVerify(ctx, rest, getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args, getenv, stdout, stderr)
	case "settings":
		return runSettings(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, getenv, stdout, stderr)
	case "help":
		return runHelp(ctx, args, getenv, stdin, stdout, stderr)
	}
	return badUsage(stderr, fmt.Sprintf("unknown command %q", cmd))
}

// badUsage reports a wrong command line with the usage of every command.
func badUsage(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "kelas: %s\n\n%s", msg, usage())
	return usageError{msg}
}

// errHelpShown ends a command whose help was asked for (-h): it has been
// printed, and kelas exits 0.
var errHelpShown = errors.New("help shown")

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "--h"
}

// flags is a command's flag set. Flags that configure the installation
// fall back to KELAS_* variables; env records which, for the help.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
	name   string            // the command, "admin create"
	env    map[string]string // flag name → its environment variable
}

func newFlags(name string, getenv func(string) string) flags {
	fs := flag.NewFlagSet("kelas "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return flags{FlagSet: fs, getenv: getenv, name: name, env: map[string]string{}}
}

// str is a string flag whose default comes from env when it is set.
func (f flags) str(name, env, def, help string) *string {
	if v := f.getenv(env); v != "" {
		def = v
	}
	f.env[name] = env
	return f.String(name, def, help)
}

// boolEnv is a boolean flag that any non-empty env turns on.
func (f flags) boolEnv(name, env, help string) *bool {
	f.env[name] = env
	return f.Bool(name, f.getenv(env) != "", help)
}

// parse parses args; -h prints the command's help to stdout and ends the
// command with errHelpShown.
func (f flags) parse(args []string, stdout, stderr io.Writer) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.help(stdout)
			return errHelpShown
		}
		return f.badUsage(stderr, err.Error())
	}
	if f.NArg() > 0 {
		return f.badUsage(stderr, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
	}
	return nil
}

// badUsage reports a wrong command line with the command's own help.
func (f flags) badUsage(stderr io.Writer, msg string) error {
	fmt.Fprintf(stderr, "kelas: %s\n\n", msg)
	f.help(stderr)
	return usageError{msg}
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
