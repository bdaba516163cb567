package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"kelas/store"
	"kelas/store/crypt"
	"kelas/store/offsite"
)

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
			return f.parse(rest, stdout, stderr)
		}
		if f.NArg() == 0 {
			break
		}
		if file != "" {
			return f.badUsage(stderr, fmt.Sprintf("unexpected argument %q", f.Arg(0)))
		}
		file, rest = f.Arg(0), f.Args()[1:]
	}
	switch {
	case *from != "" && file != "":
		return f.badUsage(stderr, "restore takes either a backup FILE or --from TARGET_URL, not both")
	case *at != "" && *from == "":
		return f.badUsage(stderr, "--at needs --from TARGET_URL")
	case *from != "" && *keys != "":
		return f.badUsage(stderr, "--keys is for a backup FILE; --from fetches the keys backup of the same run")
	case file == "" && *from == "":
		return f.badUsage(stderr, "restore needs the backup FILE to restore, or --from TARGET_URL")
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
