package views

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"kelas/i18n"
	"kelas/store"
)

// TestConsoleCodesHaveMessages: every code the console and the breach
// register show (kinds, roles, statuses, categories, scopes) has its own
// message, in English and in the pseudo-locale, so none shows as a bare
// code or falls out of the catalogue.
func TestConsoleCodesHaveMessages(t *testing.T) {
	en := context.Background()
	qps := i18n.With(en, i18n.NewPrinter(i18n.Pseudo, nil, "kelas"))
	check := func(what, code string, label func(context.Context) string) {
		assert.NotEmpty(t, label(en), "%s %q", what, code)
		assert.NotEqual(t, label(en), label(qps), "%s %q comes from the catalogue", what, code)
	}
	for _, k := range memberKinds {
		check("member kind", k, func(ctx context.Context) string { return memberKindLabel(ctx, k) })
		check("member kind code", k, func(ctx context.Context) string { return memberKindCode(ctx, k) })
	}
	for _, r := range []store.Role{store.RoleOperator, store.RoleConsultant, store.RoleBackoffice} {
		check("operator role", string(r), func(ctx context.Context) string { return operatorRoleLabel(ctx, r) })
		check("operator role code", string(r), func(ctx context.Context) string { return operatorRoleCode(ctx, r) })
	}
	for _, r := range []store.Role{store.RoleMemberStaff, store.RoleMemberAdmin} {
		check("staff role", string(r), func(ctx context.Context) string { return staffRoleLabel(ctx, r) })
	}
	for _, k := range OutboxKinds {
		check("mail kind", k, func(ctx context.Context) string { return outboxKind(ctx, k) })
	}
	for _, s := range []string{store.MailQueued, store.MailSent, store.MailFailed} {
		check("mail status", s, func(ctx context.Context) string { return outboxStatus(ctx, s) })
	}
	for _, e := range []string{store.MailErased, store.MailLinkDead} {
		check("mail error", e, func(ctx context.Context) string { return outboxError(ctx, e) })
	}
	for _, s := range []string{store.MailQueued, store.MailSent, store.MailFailed, store.NoticeClaimed, store.NoticeGone} {
		check("notice status", s, func(ctx context.Context) string { return noticeStatusLabel(ctx, s) })
	}
	for _, s := range []string{store.MassRunning, store.MassDone, store.MassFailed} {
		check("mailing state", s, func(ctx context.Context) string { return massStateLabel(ctx, s) })
	}
	for _, c := range store.BreachCategories() {
		check("breach category", string(c), func(ctx context.Context) string { return BreachCategoryText(ctx, string(c)) })
		assert.NotEqual(t, string(c), BreachCategoryText(en, string(c)))
	}
	for _, s := range []string{store.BreachAll, store.BreachMember, store.BreachTraining, store.BreachList} {
		check("breach scope", s, func(ctx context.Context) string { return breachScopeLabel(ctx, s) })
		assert.NotEqual(t, s, breachScopeLabel(en, s))
	}
	for _, k := range []string{store.CaseAccess, store.CaseRectification, store.CaseErasure, store.CaseRestriction, store.CasePortability,
		store.CaseObjection, store.CaseWithdrawConsent, store.CaseReview} {
		check("case kind", k, func(ctx context.Context) string { return attentionCaseKind(ctx, k) })
		assert.NotEqual(t, k, attentionCaseKind(en, k))
	}
}

// TestBreachClockWords: the clock's English words stay as they were, and
// the pseudo-locale has none of them.
func TestBreachClockWords(t *testing.T) {
	c := Countdown{Remaining: 70*time.Hour + time.Minute, NotifiedAt: time.Unix(3*3600, 0), Detected: time.Unix(0, 0)}
	assert.Equal(t, "2 days 22 hours 1 minute left to notify the authority. People were told 3 hours after detection.", c.Text())
	qps := i18n.With(context.Background(), i18n.NewPrinter(i18n.Pseudo, nil, "kelas"))
	assert.NotContains(t, c.Say(qps), "left to notify")
	assert.Equal(t, "less than a minute", BreachDuration(time.Second))
	assert.Equal(t, "4 Mar 2026 07:00 UTC", BreachTime(time.Date(2026, 3, 4, 7, 0, 0, 0, time.UTC)))
}
