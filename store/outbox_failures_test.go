package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDueMailWithoutSystemKey: mail to someone without an account is
// sealed under the system key. When that key is missing from keys.db (a
// damaged or mismatched keys file) the mail cannot be opened: it is failed
// with the reason and its ciphertext dropped, the queue is not wedged, and
// mail queued afterwards (under a new system key) goes out.
func TestDueMailWithoutSystemKey(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	first, err := Open(ctx, Options{Dir: dir, MasterKey: key})
	require.NoError(t, err)
	s := first
	u := createUser(t, s, newUser("holder"))
	lost := enqueue(t, s, newMail("guest@example.test", "invitation"))
	own := newMail(u.Email, "verify")
	own.UserID = u.ID
	kept := enqueue(t, s, own)
	res, err := s.kdb.Exec("DELETE FROM data_keys WHERE subject = ?", systemKeySubject)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	// Opened again, as after a restart: no key is remembered from before.
	require.NoError(t, first.Close())
	s = openTestStore(t, dir, key, nil)

	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the account's own mail still goes")
	assert.Equal(t, kept, due[0].ID)
	m, err := s.OutboxMail(ctx, lost)
	require.NoError(t, err)
	assert.Equal(t, MailFailed, m.Status)
	assert.Equal(t, "system data key missing", m.LastError)
	var recipient, body []byte
	require.NoError(t, s.db.QueryRow("SELECT recipient, body_text FROM outbox WHERE id = ?", lost).Scan(&recipient, &body))
	assert.Nil(t, recipient, "ciphertext dropped")
	assert.Nil(t, body)

	later := enqueue(t, s, newMail("guest2@example.test", "invitation"))
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, later, due[0].ID)
	assert.Equal(t, "guest2@example.test", due[0].To)
	stats, err := s.OutboxStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, stats.Failed)
}
