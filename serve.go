package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"kelas/app"
	"kelas/jobs"
	"kelas/store"
	"kelas/store/offsite"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("serve", getenv)
	addr := f.str("addr", "KELAS_ADDR", "127.0.0.1:8080", "listen address")
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	baseURL := f.str("base-url", "KELAS_BASE_URL", "", "public URL, e.g. https://learn.example.org")
	domain := f.str("domain", "KELAS_DOMAIN", "", "public domain name; turns on automatic HTTPS")
	httpsAddr := f.str("https-addr", "KELAS_HTTPS_ADDR", app.DefaultHTTPSAddr, "HTTPS listen address with --domain")
	httpAddr := f.str("http-addr", "KELAS_HTTP_ADDR", app.DefaultHTTPAddr, "listen address for ACME challenges and redirects to HTTPS with --domain")
	demo := f.boolEnv("demo", "KELAS_DEMO", "seed sample trainings when there are none")
	if err := f.parse(args, stdout, stderr); err != nil {
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
	bg, err := jobs.New(jobs.Config{BackupRecipients: cfg.BackupRecipients, BackupTarget: cfg.BackupTarget,
		BackupCredentials: cfg.BackupCredentials, OffsiteRetry: cfg.OffsiteRetry, SMTPURL: cfg.SMTPURL, MailFrom: cfg.MailFrom}, st, log)
	if err != nil {
		return err
	}
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
