package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"kelas/store"
)

// runAuditVerify walks the audit hash chain; a broken chain is an error
// naming the first bad entry.
func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("audit verify", getenv)
	dir := f.str("data", "KELAS_DATA", "./kelas-data", "data directory")
	if err := f.parse(args, stdout, stderr); err != nil {
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
