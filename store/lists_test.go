package store

import (
	"context"
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
		"training learners": func() error {
			_, err := s.TrainingLearnerList(ctx, TrainingLearnerFilter{TrainingID: NewID(), ListQuery: bad})
			return err
		},
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

// listCalls calls every console list of lists.go once.
func listCalls(s *Store) map[string]func(context.Context) error {
	q := ListQuery{Limit: 10}
	return map[string]func(context.Context) error{
		"MemberList": func(ctx context.Context) error {
			_, err := s.MemberList(ctx, MemberFilter{Query: "a", ListQuery: q})
			return err
		},
		"GrantList":  func(ctx context.Context) error { _, err := s.GrantList(ctx, GrantFilter{ListQuery: q}); return err },
		"OutboxList": func(ctx context.Context) error { _, err := s.OutboxList(ctx, OutboxFilter{ListQuery: q}); return err },
		"CaseList": func(ctx context.Context) error {
			_, err := s.CaseList(ctx, CaseFilter{Status: CaseOpen}, q)
			return err
		},
		"BreachList": func(ctx context.Context) error { _, err := s.BreachList(ctx, BreachFilter{ListQuery: q}); return err },
		"TrainingList": func(ctx context.Context) error {
			_, err := s.TrainingList(ctx, TrainingListFilter{ListQuery: q})
			return err
		},
		"LearnerList": func(ctx context.Context) error {
			_, err := s.LearnerList(ctx, LearnerFilter{Query: "ayu", ListQuery: q})
			return err
		},
		"PeopleNames": func(ctx context.Context) error { _, err := s.PeopleNames(ctx, []string{NewID()}); return err },
		"AuditList": func(ctx context.Context) error {
			_, err := s.AuditList(ctx, AuditFilter{Action: "grant", ListQuery: q})
			return err
		},
	}
}

// TestClosedStoreReportsEveryList: like every other call, a list on a
// closed store reports the cause, never an empty page.
func TestClosedStoreReportsEveryList(t *testing.T) {
	s := newTestStore(t)
	require.NoError(t, s.Close())
	for name, call := range listCalls(s) {
		err := call(context.Background())
		assert.ErrorContains(t, err, "database is closed", name)
		assert.NotErrorIs(t, err, ErrNotFound, name)
	}
}
