package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestMassMailingIsAResumableJob: a breach notice to 20,000 people returns
// from the request at once; the app stops mid-way (a restart); the next
// start resumes it, and each person has exactly one notice.
func TestMassMailingIsAResumableJob(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 accounts")
	}
	ts := newTestServer(t)
	ctx := t.Context()
	dpo, _ := dpoClient(t, ts)
	const people = 20000
	start := time.Now()
	for i := range people {
		_, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: fmt.Sprintf("p%05d@example.org", i), FirstName: "P", Surname: "Q",
			PasswordHash: "x", Role: store.RoleLearner, Verified: true})
		require.NoError(t, err)
	}
	t.Logf("%d accounts in %s", people, time.Since(start))
	b, err := ts.store.CreateBreach(ctx, "x", store.NewBreach{Title: "Lost laptop", Description: "d", Measures: "m", Advice: "a",
		Contact: "c", Categories: []string{string(store.CatRegistration)}, OccurredAt: ts.clock.Now().Add(-time.Hour),
		DetectedAt: ts.clock.Now(), Scope: store.BreachAll})
	require.NoError(t, err)

	res, _ := dpo.postForm(t, "/console/breaches/"+b.ID+"/notify", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	// The request only records the mailing: when it answers, the job has
	// not queued everyone (queueing 20,000 notices takes the background
	// job seconds, so a request doing the work itself fails this).
	ms, err := ts.store.MassMailingsFor(ctx, store.MassBreachNotice, b.ID)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Less(t, ms[0].Queued, people, "the request only records the mailing")

	// Stop the app once the mailing is under way: a restart mid-way.
	require.Eventually(t, func() bool {
		m, err := ts.store.MassMailing(ctx, ms[0].ID)
		return err == nil && m.Processed > 0
	}, 30*time.Second, time.Millisecond)
	require.NoError(t, ts.jobs.Close(context.Background()))
	m, err := ts.store.MassMailing(ctx, ms[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.MassRunning, m.Status, "stopped mid-way")
	require.Less(t, m.Processed, m.Targeted, "stopped mid-way")
	t.Logf("stopped after %d of %d", m.Processed, m.Targeted)

	// The next start: a new app on the same data resumes it from its job.
	_, againJobs := newApp(t, Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), BcryptCost: 4}, ts.store, ts.logs, ts.stdout)
	require.NoError(t, againJobs.RunNow(ctx, "mass_mail"))
	m, err = ts.store.MassMailing(ctx, ms[0].ID)
	require.NoError(t, err)
	assert.Equal(t, store.MassDone, m.Status)
	assert.Equal(t, people+1, m.Targeted, "everyone, the privacy officer too")
	assert.Equal(t, m.Targeted, m.Processed)
	assert.Equal(t, m.Targeted, m.Queued, "queued once over both runs")

	// Exactly one notice per person, in the outbox and in the register.
	_, counts, err := ts.store.BreachNotices(ctx, b.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, m.Targeted, counts.Total())
	perPerson, err := ts.store.MailsPerPerson(ctx, store.MailBreachNotice)
	require.NoError(t, err)
	assert.Len(t, perPerson, m.Targeted)
	for id, n := range perPerson {
		if n != 1 {
			t.Errorf("%s got %d notices", id, n)
		}
	}
	// Resuming once more sends nothing.
	_, err = ts.store.CreateMassMailing(ctx, store.MassBreachNotice, b.ID, "x", nil)
	require.NoError(t, err)
	require.NoError(t, againJobs.RunNow(ctx, "mass_mail"))
	perPerson, err = ts.store.MailsPerPerson(ctx, store.MailBreachNotice)
	require.NoError(t, err)
	assert.Len(t, perPerson, m.Targeted)
	for _, n := range perPerson {
		require.Equal(t, 1, n)
	}
}
