package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListsRefuseUnknownSortKeys: a sort key outside a list's whitelist is
// ErrBadSort, never SQL.
func TestListsRefuseUnknownSortKeys(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	bad := ListQuery{Sort: "name; DROP TABLE users", Limit: 10}
	for name, call := range map[string]func() error{
		"members":   func() error { _, err := s.MemberList(ctx, MemberFilter{ListQuery: bad}); return err },
		"grants":    func() error { _, err := s.GrantList(ctx, GrantFilter{ListQuery: bad}); return err },
		"outbox":    func() error { _, err := s.OutboxList(ctx, OutboxFilter{ListQuery: bad}); return err },
		"cases":     func() error { _, err := s.CaseList(ctx, CaseFilter{}, bad); return err },
		"breaches":  func() error { _, err := s.BreachList(ctx, BreachFilter{ListQuery: bad}); return err },
		"trainings": func() error { _, err := s.TrainingList(ctx, TrainingListFilter{ListQuery: bad}); return err },
		"learners":  func() error { _, err := s.LearnerList(ctx, LearnerFilter{Query: "x", ListQuery: bad}); return err },
		"audit":     func() error { _, err := s.AuditList(ctx, AuditFilter{ListQuery: bad}); return err },
	} {
		assert.ErrorIs(t, call(), ErrBadSort, name)
	}
}

// TestAuditListActionFilter: an action filter finds the action and those
// under it, not actions that merely start with the same letters.
func TestAuditListActionFilter(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	for _, a := range []string{"grant.create", "grant.revoke", "granted.other", "rights.case.extend", "rights.erasure.cancel"} {
		require.NoError(t, s.Audit(ctx, AuditEntry{ActorID: ActorCLI, Action: a}))
	}
	actions := func(f AuditFilter) []string {
		t.Helper()
		p, err := s.AuditList(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, e := range p.Items {
			out = append(out, e.Action)
		}
		assert.Equal(t, len(out), p.Total)
		return out
	}
	assert.Equal(t, []string{"grant.revoke", "grant.create"}, actions(AuditFilter{Action: "grant", ListQuery: ListQuery{Desc: true}}))
	assert.Equal(t, []string{"rights.case.extend"}, actions(AuditFilter{Action: "rights.case"}))
	assert.Equal(t, []string{"grant.create"}, actions(AuditFilter{Action: "grant.create"}))
	assert.Empty(t, actions(AuditFilter{Action: "gran"}))
	p, err := s.AuditList(ctx, AuditFilter{ListQuery: ListQuery{Limit: 2, Offset: 4}})
	require.NoError(t, err)
	assert.Equal(t, 5, p.Total)
	assert.Len(t, p.Items, 1)
}
