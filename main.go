// Command kelas is a privacy-first online training portal: one static binary
// with an embedded, encrypted SQLite store. See README.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/bcrypt"

	"kelas/app"
	"kelas/doctor"
	"kelas/jobs"
	"kelas/store"
	"kelas/store/crypt"
	"kelas/store/offsite"
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

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("serve", getenv)
	addr := f.str("addr", "KELAS_ADDR", "127.0.0.1:8080", "listen address")
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	baseURL := f.str("base-url", "KELAS_BASE_URL", "", "public URL, e.g. https://learn.example.org")
	domain := f.str("domain", "KELAS_DOMAIN", "", "public domain name; turns on automatic HTTPS")
	httpsAddr := f.str("https-addr", "KELAS_HTTPS_ADDR", app.DefaultHTTPSAddr, "HTTPS listen address with --domain")
	httpAddr := f.str("http-addr", "KELAS_HTTP_ADDR", app.DefaultHTTPAddr, "listen address for ACME challenges and redirects to HTTPS with --domain")
	demo := f.Bool("demo", f.getenv("KELAS_DEMO") != "", "seed sample trainings when there are none (KELAS_DEMO)")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	cfg := app.Config{Addr: *addr, DataDir: *dir, BaseURL: *baseURL, Domain: *domain, Version: versionString(), Demo: *demo,
		SMTPURL: getenv("KELAS_SMTP_URL"), MailFrom: getenv("KELAS_MAIL_FROM"),
		HTTPSAddr: *httpsAddr, HTTPAddr: *httpAddr, ACMEDirectory: getenv("KELAS_ACME_DIRECTORY"),
		ACMECARoot: getenv("KELAS_ACME_CA_ROOT"), ACMEEmail: getenv("KELAS_ACME_EMAIL")}
	var err error
	if cfg.BcryptCost, err = bcryptCost(getenv); err != nil {
		return err
	}
	if cfg.ErasureGrace, err = erasureGrace(getenv); err != nil {
		return err
	}
	if cfg.TrustedProxies, err = parseTrustedProxies(getenv("KELAS_TRUSTED_PROXIES")); err != nil {
		return fmt.Errorf("KELAS_TRUSTED_PROXIES: %w", err)
	}
	if cfg.BackupRecipients, err = parseBackupRecipients(getenv("KELAS_BACKUP_RECIPIENT")); err != nil {
		return fmt.Errorf("KELAS_BACKUP_RECIPIENT: %w", err)
	}
	cfg.BackupTarget, cfg.BackupCredentials = getenv("KELAS_BACKUP_TARGET"), offsiteCredentials(getenv)
	log := newLogger(stderr)
	if cfg.BackupTarget != "" {
		// A bad target does not stop kelas: backups stay local and the
		// problem shows on /console/backups and in `kelas doctor`.
		if t, err := offsite.Open(cfg.BackupTarget, cfg.BackupCredentials); err != nil {
			log.Error("off-site backups are off", "err", err)
		} else {
			t.Close()
		}
	}
	st, err := openStore(ctx, cfg.DataDir, getenv, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// Held while serving, so `kelas restore` refuses to swap files under a
	// running server. Taken once the store opened, so a refused start
	// leaves no file behind.
	unlock, err := store.LockDir(cfg.DataDir, false)
	if err != nil {
		return fmt.Errorf("%w: a restore is running; start kelas again when it has finished", err)
	}
	defer unlock()
	bg := jobs.New(jobs.Config{BackupRecipients: cfg.BackupRecipients, BackupTarget: cfg.BackupTarget,
		BackupCredentials: cfg.BackupCredentials, OffsiteRetry: cfg.OffsiteRetry}, st, log)
	a, err := app.New(cfg, app.Deps{Log: log, Store: st, Static: staticFS(), Stdout: stdout, Background: bg})
	if err != nil {
		return err
	}
	bg.SetWork(jobs.Work(a.Tasks()))
	return serve(ctx, a, bg, func() {
		link, err := a.SetupLink(ctx)
		if err != nil {
			log.Error("cannot create a setup link", "err", err)
			return
		}
		if link != "" {
			fmt.Fprintf(stdout, "kelas: no operator account exists yet. Open this one-time link within 24 hours to create it:\n\n    %s\n\n", link)
		}
	})
}

// serve prepares the app and its background work, then runs both until
// ctx ends; it returns once every goroutine has stopped.
func serve(ctx context.Context, a *app.App, bg *jobs.Runner, ready func()) error {
	if err := bg.Prepare(ctx); err != nil {
		return err
	}
	if err := a.Prepare(ctx); err != nil {
		return err
	}
	err := bg.Serve(ctx, a.Serve, func(string) { ready() })
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return errors.Join(err, a.Close(cctx))
}

func staticFS() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// erasureGrace reads KELAS_ERASURE_GRACE: a Go duration ("168h") or a
// number of days ("7"). Unset is nil, the default; 0 is no grace period at
// all (the erasure job's next run), which is why the two are kept apart.
func erasureGrace(getenv func(string) string) (*time.Duration, error) {
	v := getenv("KELAS_ERASURE_GRACE")
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if n, nerr := strconv.Atoi(v); nerr == nil {
		d, err = time.Duration(n)*24*time.Hour, nil
	}
	if err != nil || d < 0 || d > 90*24*time.Hour {
		return nil, fmt.Errorf("KELAS_ERASURE_GRACE must be a number of days (0 to 90) or a duration like 168h")
	}
	return &d, nil
}

func bcryptCost(getenv func(string) string) (int, error) {
	v := getenv("KELAS_BCRYPT_COST")
	if v == "" {
		return 12, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < bcrypt.MinCost || n > bcrypt.MaxCost {
		return 0, fmt.Errorf("KELAS_BCRYPT_COST must be a number from %d to %d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	return n, nil
}

func runAdminCreate(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("admin create", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	email := f.String("email", "", "email address of the new operator")
	roleName := f.String("role", "operator", "operator, consultant or backoffice")
	first := f.String("first-name", "", "first name (defaults to the part of the email before @)")
	surname := f.String("surname", "", "surname")
	dpo := f.Bool("dpo", false, "also make the account a privacy officer")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	role, ok := store.ParseRole(*roleName)
	if !ok || !role.IsOperator() {
		return badUsage(stderr, fmt.Sprintf("--role must be operator, consultant or backoffice, not %q", *roleName))
	}
	if *email == "" || !strings.Contains(*email, "@") {
		return badUsage(stderr, "--email is required and must be an email address")
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

func runKeysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("keys rotate", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	newKeyFile := f.String("new-master-key-file", "", "move every key to the master key in this file (kelas stopped)")
	recipient := f.str("recipient", "KELAS_BACKUP_RECIPIENT", "", "age public key (age1...) of an offline recovery key")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	if *newKeyFile != "" {
		return runRotateMaster(ctx, *dir, *newKeyFile, *recipient, getenv, stdout, stderr)
	}
	st, err := openStore(ctx, *dir, getenv, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	v, n, err := st.RotateKeys(ctx)
	if err != nil {
		return err
	}
	if err := st.Audit(ctx, store.AuditEntry{ActorID: store.ActorCLI, Action: store.AuditKeysRotate,
		Details: map[string]any{"version": v, "rewrapped": n}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key-wrapping key is now version %d; re-wrapped %d data keys\n", v, n)
	return nil
}

// runRotateMaster moves every key of dir to the master key in newKeyFile
// (see store.RotateMasterKey) and tells the operator what to do with both
// keys.
func runRotateMaster(ctx context.Context, dir, newKeyFile, recipient string, getenv func(string) string, stdout, stderr io.Writer) error {
	old, err := loadMasterKey(dir, getenv, false)
	if err != nil {
		return err
	}
	newKey, err := crypt.ReadNewKeyFile(newKeyFile)
	if err != nil {
		return err
	}
	recipients, err := parseBackupRecipients(recipient)
	if err != nil {
		return err
	}
	res, err := store.RotateMasterKey(ctx, store.RotateMasterOptions{Dir: dir, OldKey: old.Key, NewKey: newKey, Recipients: recipients})
	if err != nil {
		return err
	}
	newPath, _ := filepath.Abs(newKeyFile)
	fmt.Fprintf(stdout, "The master key of %s is rotated: %d data keys re-wrapped (key-wrapping version %d), %d blind indexes recomputed, "+
		"%d audit entries and %d journal records re-keyed, %d ACME files re-sealed.\n\n", dir, res.DataKeys, res.KEKVersion,
		res.BlindIndexes, res.AuditEntries, res.JournalRecords, res.ACMEFiles)
	fmt.Fprintln(stdout, "Before you start kelas again (it refuses the old key now):")
	switch {
	case old.Source == "environment":
		fmt.Fprintf(stdout, "  - KELAS_MASTER_KEY holds the old key: set it to the contents of %s, or unset it and set KELAS_MASTER_KEY_FILE=%s.\n", newPath, newPath)
	case getenv("KELAS_MASTER_KEY_FILE") != "":
		fmt.Fprintf(stdout, "  - KELAS_MASTER_KEY_FILE points to %s, which holds the old key: point it to %s instead.\n", old.Source, newPath)
	default:
		fmt.Fprintf(stdout, "  - The old key is %s: copy it somewhere offline (see below), then replace it with the new key:\n"+
			"      install -m 600 %s %s\n"+
			"    or, better, keep the key off this disk: delete %s and set KELAS_MASTER_KEY_FILE=%s.\n", old.Source, newPath, old.Source, old.Source, newPath)
	}
	fmt.Fprintf(stdout, "  - Keep a copy of the new key somewhere safe: without it nothing in %s can be read.\n", dir)
	fmt.Fprintf(stdout, "  - Then take a backup under the new key (kelas backup --data %s): the newest backup, which the restore drill "+
		"and a quick restore use, should open with the key kelas now has.\n\n", dir)
	fmt.Fprintf(stdout, "Backups made before the rotation, including the one just taken:\n")
	for _, b := range res.Before {
		fmt.Fprintf(stdout, "  %s\n", b)
	}
	fmt.Fprintf(stdout, "and their off-site copies are encrypted to the OLD key and restore only with it (into an empty data directory, "+
		"with KELAS_MASTER_KEY_FILE set to the old key; run this rotation again afterwards). Keep the old key offline, not on this "+
		"server, until %s: by then the retention rules have pruned the last of them here and off-site. Then destroy it.\n",
		res.OldKeyUntil.Format(time.DateOnly))
	if res.RecoveryCodeUsers > 0 {
		fmt.Fprintf(stdout, "\n%d people had two-factor recovery codes: only a keyed hash of each code is kept, so they cannot be moved to "+
			"the new key and were removed. Their authenticator app still works; ask them to make new recovery codes.\n", res.RecoveryCodeUsers)
	}
	if res.ACMEDropped > 0 {
		fmt.Fprintf(stdout, "\n%d ACME cache files did not open under the old key and were left behind; their certificates are fetched again.\n", res.ACMEDropped)
	}
	fmt.Fprintln(stdout, "\nOne-click unsubscribe links in mail sent before the rotation no longer work; the account page still does.")
	return nil
}

// runBackup takes an encrypted backup now and prints the paths of the files
// (the data backup first, then the keys backup).
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("backup", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	recipient := f.str("recipient", "KELAS_BACKUP_RECIPIENT", "", "age public key (age1...) of an offline recovery key")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	recipients, err := parseBackupRecipients(*recipient)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *dir, getenv, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	bs, err := st.Backup(ctx, store.BackupOptions{Origin: store.OriginCLI, Actor: store.ActorCLI, Recipients: recipients})
	for _, b := range bs {
		if b.OK {
			fmt.Fprintln(stdout, st.BackupPath(b))
		}
	}
	if err != nil {
		return err
	}
	return copyOffsite(ctx, st, getenv, stdout)
}

// offsiteCredentials reads the off-site target's secrets.
func offsiteCredentials(getenv func(string) string) offsite.Credentials {
	return offsite.Credentials{S3AccessKey: getenv("KELAS_BACKUP_S3_ACCESS_KEY"), S3SecretKey: getenv("KELAS_BACKUP_S3_SECRET_KEY"),
		SFTPKeyFile: getenv("KELAS_BACKUP_SFTP_KEY"), SFTPKnownHosts: getenv("KELAS_BACKUP_SFTP_KNOWN_HOSTS")}
}

// copyOffsite uploads the backups not yet at the off-site target in force
// (set on the console, else KELAS_BACKUP_TARGET) and prunes it; it prints
// each file's state. Without a target it does nothing.
func copyOffsite(ctx context.Context, st *store.Store, getenv func(string) string, stdout io.Writer) error {
	raw := getenv("KELAS_BACKUP_TARGET")
	if u, set, err := st.OffsiteTarget(ctx); err != nil {
		return err
	} else if set {
		raw = u
	}
	if raw == "" {
		return nil
	}
	t, err := offsite.Open(raw, offsiteCredentials(getenv))
	if err != nil {
		return fmt.Errorf("the backup is written here but not copied off-site: %w", err)
	}
	defer t.Close()
	up, uerr := st.UploadOffsite(ctx, t, store.OffsiteOptions{})
	for _, f := range up {
		fmt.Fprintf(stdout, "%s: %s at %s\n", f.File, f.State, t)
	}
	_, perr := st.PruneOffsite(ctx, t)
	return errors.Join(uerr, perr)
}

// runRestore replaces the data with a backup (kelas stopped), then
// re-applies every erasure.
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("restore", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	keys := f.String("keys", "", "keys backup to restore with a data backup (default: the one of the same run beside FILE)")
	identity := f.str("identity", "KELAS_BACKUP_IDENTITY", "", "file with the age identity of the offline recovery key")
	acceptLoss := f.Bool("accept-loss", false, "restore even when compliance records made after the backup would be lost (the loss is audited)")
	from := f.String("from", "", "off-site target URL (s3://… or sftp://…) to fetch the backup pair from, instead of FILE")
	at := f.String("at", "", "with --from: the stamp (20060102T150405Z) of the pair to restore; default the newest")
	// FILE may come before or after the flags.
	var file string
	for rest := args; ; {
		if err := f.Parse(rest); err != nil {
			return f.parse(rest, stderr)
		}
		if f.NArg() == 0 {
			break
		}
		if file != "" {
			return badUsage(stderr, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
		}
		file, rest = f.Arg(0), f.Args()[1:]
	}
	switch {
	case *from != "" && file != "":
		return badUsage(stderr, "restore takes either a backup FILE or --from TARGET_URL, not both")
	case *at != "" && *from == "":
		return badUsage(stderr, "--at needs --from TARGET_URL")
	case *from != "" && *keys != "":
		return badUsage(stderr, "--keys is for a backup FILE; --from fetches the keys backup of the same run")
	case file == "" && *from == "":
		return badUsage(stderr, "restore needs the backup FILE to restore, or --from TARGET_URL")
	}
	var ids []age.Identity
	if *identity != "" {
		b, err := os.ReadFile(*identity)
		if err != nil {
			return fmt.Errorf("KELAS_BACKUP_IDENTITY: %w", err)
		}
		if ids, err = age.ParseIdentities(bytes.NewReader(b)); err != nil {
			return fmt.Errorf("KELAS_BACKUP_IDENTITY: %s holds no age identity", *identity)
		}
	}
	mk, err := loadMasterKey(*dir, getenv, false)
	if err != nil {
		return fmt.Errorf("restore needs the master key the backup was made under (KELAS_MASTER_KEY, KELAS_MASTER_KEY_FILE or %s): %w",
			filepath.Join(*dir, crypt.MasterKeyFile), err)
	}
	recipients, err := parseBackupRecipients(getenv("KELAS_BACKUP_RECIPIENT"))
	if err != nil {
		return fmt.Errorf("KELAS_BACKUP_RECIPIENT: %w", err)
	}
	opts := store.RestoreOptions{Dir: *dir, MasterKey: mk.Key, Identities: ids, File: file, KeysFile: *keys,
		Recipients: recipients, AcceptLoss: *acceptLoss}
	var res store.RestoreResult
	if *from != "" {
		t, err := offsite.Open(*from, offsiteCredentials(getenv))
		if err != nil {
			return err
		}
		defer t.Close()
		file = t.String()
		res, err = store.RestoreFrom(ctx, opts, t, *at)
		if err != nil {
			return err
		}
		if res.KeysFile != "" {
			res.KeysFile = filepath.Base(res.KeysFile)
		}
	} else if res, err = store.Restore(ctx, opts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s from %s\n", strings.Join(res.Restored, " and "), file)
	if res.KeysFile != "" {
		fmt.Fprintf(stdout, "keys from %s\n", res.KeysFile)
	}
	for _, b := range res.Before {
		fmt.Fprintf(stdout, "the replaced state is kept, encrypted, as %s\n", b)
	}
	fmt.Fprintf(stdout, "erasures re-applied: %d people erased again (%d tombstones added from backups)\n", res.Reerased, res.Tombstones)
	fmt.Fprintf(stdout, "compliance records re-applied from the journal: %d\n", res.Journal.Applied)
	if res.KeysMerged > 0 {
		fmt.Fprintf(stdout, "data keys made after the keys backup kept: %d\n", res.KeysMerged)
	}
	if lost := res.Journal.Lost() + len(res.Journal.Skipped); lost > 0 {
		fmt.Fprintf(stdout, "compliance records lost (accepted, recorded in the audit log): %d\n%s", lost, res.Journal.Report())
	}
	if res.AuditRolledBack > 0 {
		fmt.Fprintf(stdout, "the audit log was rolled back from entry %d; the restore's audit entry records it\n", res.AuditRolledBack)
	}
	return nil
}

// runAuditVerify walks the audit hash chain; a broken chain is an error
// naming the first bad entry.
func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("audit verify", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	st, err := openStore(ctx, *dir, getenv, newLogger(stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	bad, err := st.VerifyAudit(ctx)
	if errors.Is(err, store.ErrAuditBroken) {
		return fmt.Errorf("the first bad audit entry is %d: %w", bad, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "the audit log verifies: no entry has been changed or removed")
	return nil
}

// runDoctor prints a self-check of the installation and fails when any
// check fails (warnings alone do not).
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("doctor", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.parse(args, stderr); err != nil {
		return err
	}
	if !store.Exists(*dir) {
		return fmt.Errorf("no kelas data in %s", *dir)
	}
	fmt.Fprintf(stdout, "kelas doctor: %s\n", *dir)
	mk, err := loadMasterKey(*dir, getenv, false)
	if err != nil {
		fmt.Fprintf(stdout, "  FAIL  %-12s %v\n", "master key", err)
		return errors.New("doctor found a problem")
	}
	st, err := store.Open(ctx, store.Options{Dir: *dir, MasterKey: mk.Key})
	if err != nil {
		fmt.Fprintf(stdout, "  FAIL  %-12s %v\n", "key check", err)
		return errors.New("doctor found a problem")
	}
	defer st.Close()
	checks := doctor.Run(ctx, st, doctor.Input{SMTPRelay: app.SMTPRelay, KeySource: mk.Source, KeyWarnings: mk.Warnings, SMTPURL: getenv("KELAS_SMTP_URL"),
		Domain: getenv("KELAS_DOMAIN"), BackupTarget: getenv("KELAS_BACKUP_TARGET"), BackupCredentials: offsiteCredentials(getenv)})
	fails, warns := 0, 0
	for _, c := range checks {
		label := "ok"
		switch c.Status {
		case doctor.CheckFail:
			label = "FAIL"
			fails++
		case doctor.CheckWarn:
			label = "WARN"
			warns++
		}
		fmt.Fprintf(stdout, "  %-4s  %-12s %s\n", label, c.Name, c.Detail)
	}
	fmt.Fprintf(stdout, "%d problems, %d warnings\n", fails, warns)
	if fails > 0 {
		return fmt.Errorf("doctor found %d problems", fails)
	}
	return nil
}

func versionString() string {
	v, rev := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " " + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("kelas %s%s %s %s/%s", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
