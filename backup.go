package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"kelas/store"
	"kelas/store/offsite"
)

// runBackup takes an encrypted backup now and prints the paths of the files
// (the data backup first, then the keys backup).
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("backup", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	recipient := f.str("recipient", "KELAS_BACKUP_RECIPIENT", "", "age public key (age1...) of an offline recovery key")
	if err := f.parse(args, stdout, stderr); err != nil {
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
