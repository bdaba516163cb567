package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchedulerWakesOutboxAtOnce runs the real scheduler loop with the real
// jobs: queueing mail delivers it without waiting for the minute.
func TestSchedulerWakesOutboxAtOnce(t *testing.T) {
	ts, smtpd := newMailServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.jobs.Run(ctx) }()
	require.NoError(t, ts.app.queueMail(context.Background(), sampleMail("woken@example.test")))
	smtpd.WaitFor(t, 1)
	cancel()
	require.NoError(t, <-done)
	jobs, err := ts.store.Jobs(context.Background())
	require.NoError(t, err)
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	assert.Subset(t, names, []string{"account_tokens", "backup", "backup_prune", "outbox", "retention", "sessions"})
}
