package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"kelas/doctor"
	"kelas/jobs"
	"kelas/store"
)

// runDoctor prints a self-check of the installation and fails when any
// check fails (warnings alone do not).
func runDoctor(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("doctor", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.parse(args, stdout, stderr); err != nil {
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
	checks := doctor.Run(ctx, st, doctor.Input{SMTPRelay: jobs.SMTPRelay, KeySource: mk.Source, KeyWarnings: mk.Warnings, SMTPURL: getenv("KELAS_SMTP_URL"),
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
