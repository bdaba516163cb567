package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kelas/store/offsite/offsitetest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRestoreDrillReportsWhatIsWrong: each drill failure is recorded with
// its reason, audited, and leaves no copy in the data directory.
func TestRestoreDrillReportsWhatIsWrong(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		prepare func(t *testing.T, s *Store)
		want    string
	}{
		{"the newest backup holds nobody", func(t *testing.T, s *Store) {
			// People registered after the only backup was taken.
			registered(t, s, "one")
			registered(t, s, "two")
		}, "the restored copy holds nobody while the live database holds 2 people"},
		{"a directory where the journal belongs", func(t *testing.T, s *Store) {
			require.NoError(t, os.Remove(filepath.Join(s.Dir(), JournalFile)))
			require.NoError(t, os.Mkdir(filepath.Join(s.Dir(), JournalFile), 0o700))
		}, "is a directory"},
		{"a directory where the tombstones belong", func(t *testing.T, s *Store) {
			os.Remove(filepath.Join(s.Dir(), TombstonesFile))
			require.NoError(t, os.Mkdir(filepath.Join(s.Dir(), TombstonesFile), 0o700))
		}, "is a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := offsitetest.StartS3(t)
			tg := offsitetest.OpenTarget(t, srv.URL, offsitetest.S3Creds())
			clock := newTestClock()
			s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
			_, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
			require.NoError(t, err)
			_, err = s.UploadOffsite(ctx, tg, fastRetry)
			require.NoError(t, err)
			clock.Advance(time.Hour)
			tc.prepare(t, s)

			d, err := s.RestoreDrill(ctx, tg)
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
			assert.False(t, d.OK)
			last, err := s.LastDrill(ctx)
			require.NoError(t, err)
			assert.Equal(t, d.ID, last.ID)
			assert.Contains(t, last.Error, tc.want)
			log, err := s.AuditLog(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, AuditBackupDrill, log[0].Action)
			entries, err := os.ReadDir(s.Dir())
			require.NoError(t, err)
			for _, e := range entries {
				assert.False(t, strings.HasPrefix(e.Name(), ".drill-"), "drill copy left behind: %s", e.Name())
			}
		})
	}
}
