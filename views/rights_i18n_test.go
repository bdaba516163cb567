package views

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"kelas/i18n"
	"kelas/store"
)

// TestNoticeCodesHaveMessages: every code of the data map the privacy
// notice shows (category, plain item, lawful basis, purpose, retention), every
// retention rule and every kind, status and channel of a rights request
// has its own message in the English catalogue, so none is shown raw.
func TestNoticeCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	has := func(key, what string) {
		t.Helper()
		assert.True(t, key != "" && en.Has(key), "%s has no message (key %q)", what, key)
	}
	for _, f := range store.DataMap() {
		if !f.Personal {
			continue
		}
		has(noticeCategoryKeys[f.Category], "category "+string(f.Category))
		has(noticeBasisKeys[f.Basis], "lawful basis "+string(f.Basis))
		has(noticeRetentionKeys[f.Retention], "retention "+f.Retention)
		for _, p := range f.Purposes {
			has(noticePurposeKeys[p], "purpose "+p)
		}
		has("notice.item."+f.Plain, "plain item of "+f.Table+"."+f.Column)
	}
	for _, code := range store.PlainItems() {
		has("notice.item."+code, "plain item "+code)
	}
	for _, c := range []string{store.RetActivity, store.RetActivityIP, store.RetActivityPrefix, store.RetAccessLog, store.RetAudit,
		store.RetConsent, store.RetOutbox, store.RetExports, store.RetSessions, store.RetKeysBackups, store.RetDailyBackups,
		store.RetWeeklyBackups} {
		has(noticeRuleKeys[c], "retention rule "+c)
	}
	for _, k := range []string{store.CaseAccess, store.CaseRectification, store.CaseErasure, store.CaseRestriction,
		store.CasePortability, store.CaseObjection, store.CaseWithdrawConsent, store.CaseReview} {
		assert.True(t, store.ValidCaseKind(k))
		has(caseKindKeys[k], "case kind "+k)
	}
	assert.Len(t, caseKindKeys, 8)
	for _, s := range []string{store.CaseOpen, store.CaseInProgress, store.CaseCompleted, store.CaseCancelled, store.CaseRejected} {
		assert.True(t, store.ValidCaseStatus(s))
		has(caseStatusKeys[s], "case status "+s)
	}
}

// TestActivityCodesHaveMessages: every action of the activity log the
// access page lists has a message.
func TestActivityCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, a := range []string{store.ActViewTraining, store.ActEnrol, store.ActViewMaterial, store.ActDownloadFile, store.ActStartQuiz,
		store.ActSubmitQuiz, store.ActComplete, store.ActCertificateIssue, store.ActAttendance} {
		assert.True(t, en.Has(activityKeys[a]), a)
	}
	for code, key := range objectTypeKeys {
		assert.True(t, en.Has(key), code)
	}
	for code, key := range viewKeys {
		assert.True(t, en.Has(key), code)
	}
	for code, key := range cookieHowKeys {
		assert.True(t, en.Has(key), code)
	}
}

func TestDisclosureReasonsHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, c := range DisclosureReasons {
		assert.True(t, en.Has("disclosure.reason."+c), c)
	}
	ctx := i18n.With(t.Context(), i18n.NewPrinter("en", nil, ""))
	assert.Equal(t, "the staff list of SMESCO Indonesia", disclosureReason(ctx, "@staff_list:SMESCO Indonesia"))
	assert.Equal(t, "checking a complaint", disclosureReason(ctx, "checking a complaint"), "typed reasons stay as typed")
	assert.Equal(t, "@unknown", disclosureReason(ctx, "@unknown"))
}
