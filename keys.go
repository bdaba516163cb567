package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"kelas/store"
	"kelas/store/crypt"
)

func runKeysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("keys rotate", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	newKeyFile := f.String("new-master-key-file", "", "move every key to the master key in this file (kelas stopped)")
	recipient := f.str("recipient", "KELAS_BACKUP_RECIPIENT", "", "age public key (age1...) of an offline recovery key")
	if err := f.parse(args, stdout, stderr); err != nil {
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
