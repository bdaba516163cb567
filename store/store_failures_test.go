package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeCalls names one call of every method of the Store that reads or
// writes a database, with arguments that pass validation, so that the call
// reaches SQL. The sweeps below run them against a broken store.
func storeCalls(s *Store) map[string]func(context.Context) error {
	id, other := NewID(), NewID()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	e1 := func(f func(context.Context) error) func(context.Context) error { return f }
	return map[string]func(context.Context) error{
		"WriteAccessLog": e1(func(ctx context.Context) error {
			return s.WriteAccessLog(ctx, []AccessEntry{{At: now, Method: "GET", Route: "GET /x", Status: 200}})
		}),
		"AccessLog":     func(ctx context.Context) error { _, err := s.AccessLog(ctx, 10); return err },
		"CurrentPolicy": func(ctx context.Context) error { _, err := s.CurrentPolicy(ctx); return err },
		"Consents":      func(ctx context.Context) error { _, err := s.Consents(ctx, id); return err },
		"SetConsents":   func(ctx context.Context) error { return s.SetConsents(ctx, id, true, true, "form") },
		"CreateAccountToken": func(ctx context.Context) error {
			_, err := s.CreateAccountToken(ctx, id, "verify", time.Hour, "")
			return err
		},
		"AccountTokenValid": func(ctx context.Context) error { _, err := s.AccountTokenValid(ctx, id, "verify"); return err },
		"AccountTokenOwner": func(ctx context.Context) error { _, err := s.AccountTokenOwner(ctx, id, "verify"); return err },
		"VerifyEmail":       func(ctx context.Context) error { _, err := s.VerifyEmail(ctx, id); return err },
		"PendingEmail":      func(ctx context.Context) error { _, err := s.PendingEmail(ctx, id); return err },
		"ResetPassword":     func(ctx context.Context) error { _, err := s.ResetPassword(ctx, id, "$2a$10$x"); return err },
		"SetPassword":       func(ctx context.Context) error { _, err := s.SetPassword(ctx, id, "$2a$10$x"); return err },
		"Profile":           func(ctx context.Context) error { _, err := s.Profile(ctx, id); return err },
		"UpdateProfile": func(ctx context.Context) error {
			return s.UpdateProfile(ctx, id, Details{}, Profile{}, 0)
		},
		"Activity":          func(ctx context.Context) error { _, err := s.Activity(ctx, id, 10); return err },
		"AnonymousCount":    func(ctx context.Context) error { _, err := s.AnonymousCount(ctx, "k", "a", "b", "c"); return err },
		"Audit":             func(ctx context.Context) error { return s.Audit(ctx, AuditEntry{ActorID: id, Action: "test.action"}) },
		"AuditAnchorStatus": func(ctx context.Context) error { _, _, err := s.AuditAnchorStatus(ctx); return err },
		"VerifyAudit":       func(ctx context.Context) error { _, err := s.VerifyAudit(ctx); return err },
		"AuditLog":          func(ctx context.Context) error { _, err := s.AuditLog(ctx, 10); return err },
		"Backups":           func(ctx context.Context) error { _, err := s.Backups(ctx, 10); return err },
		"BackupByID":        func(ctx context.Context) error { _, err := s.BackupByID(ctx, id); return err },
		"BackupStatus":      func(ctx context.Context) error { _, err := s.BackupStatus(ctx); return err },
		"PruneBackups":      func(ctx context.Context) error { _, err := s.PruneBackups(ctx); return err },
		"Breach":            func(ctx context.Context) error { _, err := s.Breach(ctx, id); return err },
		"Breaches":          func(ctx context.Context) error { _, err := s.Breaches(ctx); return err },
		"ClaimBreachNotices": func(ctx context.Context) error {
			_, err := s.ClaimBreachNotices(ctx, id, []string{other})
			return err
		},
		"LinkBreachNotice":    func(ctx context.Context) error { return s.LinkBreachNotice(ctx, id, other, NewID()) },
		"ReleaseBreachNotice": func(ctx context.Context) error { return s.ReleaseBreachNotice(ctx, id, other) },
		"BreachNotices":       func(ctx context.Context) error { _, _, err := s.BreachNotices(ctx, id, 10); return err },
		"AddBreachNote":       func(ctx context.Context) error { return s.AddBreachNote(ctx, other, id, "note") },
		"CloseBreach":         func(ctx context.Context) error { return s.CloseBreach(ctx, other, id, "summary") },
		"RunningBreaches":     func(ctx context.Context) error { _, err := s.RunningBreaches(ctx); return err },
		"RunningBreachCount":  func(ctx context.Context) error { _, err := s.RunningBreachCount(ctx); return err },
		"LatestConsent":       func(ctx context.Context) error { _, err := s.LatestConsent(ctx, id); return err },
		"ConsentRecords":      func(ctx context.Context) error { _, err := s.ConsentRecords(ctx, id); return err },
		"SetObjection":        func(ctx context.Context) error { return s.SetObjection(ctx, id, "statistics", true) },
		"SetRestricted":       func(ctx context.Context) error { return s.SetRestricted(ctx, id, true) },
		"ExcludedFromStatistics": func(ctx context.Context) error {
			_, err := s.ExcludedFromStatistics(ctx, id)
			return err
		},
		"PersonalData":        func(ctx context.Context) error { _, err := s.PersonalData(ctx, id); return err },
		"CreateExport":        func(ctx context.Context) error { _, err := s.CreateExport(ctx, id); return err },
		"InterruptExports":    func(ctx context.Context) error { _, err := s.InterruptExports(ctx); return err },
		"Export":              func(ctx context.Context) error { _, err := s.Export(ctx, id, other); return err },
		"LatestExport":        func(ctx context.Context) error { _, err := s.LatestExport(ctx, id); return err },
		"Exports":             func(ctx context.Context) error { _, err := s.Exports(ctx, id); return err },
		"SetExportProgress":   func(ctx context.Context) error { return s.SetExportProgress(ctx, id, 50) },
		"FailExport":          func(ctx context.Context) error { return s.FailExport(ctx, id, "reason") },
		"OpenExportFile":      func(ctx context.Context) error { _, err := s.OpenExportFile(ctx, id, other); return err },
		"PurgeExpiredExports": func(ctx context.Context) error { _, err := s.PurgeExpiredExports(ctx); return err },
		"DeleteExports":       func(ctx context.Context) error { return s.DeleteExports(ctx, id) },
		"RevokeGrant":         func(ctx context.Context) error { return s.RevokeGrant(ctx, id, other) },
		"Grant":               func(ctx context.Context) error { _, err := s.Grant(ctx, id); return err },
		"Grants":              func(ctx context.Context) error { _, err := s.Grants(ctx, id); return err },
		"ActiveGrantFor":      func(ctx context.Context) error { _, err := s.ActiveGrantFor(ctx, id, other); return err },
		"GrantedLearner":      func(ctx context.Context) error { _, _, err := s.GrantedLearner(ctx, id, other); return err },
		"Disclosures":         func(ctx context.Context) error { _, err := s.Disclosures(ctx, id); return err },
		"AllDisclosures":      func(ctx context.Context) error { _, err := s.AllDisclosures(ctx, DisclosureFilter{}); return err },
		"VisibleLearners":     func(ctx context.Context) error { _, err := s.VisibleLearners(ctx, id); return err },
		"InvitationByToken":   func(ctx context.Context) error { _, err := s.InvitationByToken(ctx, id); return err },
		"AcceptInvitation":    func(ctx context.Context) error { return s.AcceptInvitation(ctx, id, other) },
		"PendingInvitations":  func(ctx context.Context) error { _, err := s.PendingInvitations(ctx, id); return err },
		"MemberStaff":         func(ctx context.Context) error { _, err := s.MemberStaff(ctx, id); return err },
		"RemoveStaff":         func(ctx context.Context) error { return s.RemoveStaff(ctx, id, other) },
		"Operators":           func(ctx context.Context) error { _, err := s.Operators(ctx); return err },
		"SetOperatorRole":     func(ctx context.Context) error { return s.SetOperatorRole(ctx, id, RoleOperator, false) },
		"HeldPeople":          func(ctx context.Context) error { _, err := s.HeldPeople(ctx); return err },
		"DestroyDataKey":      func(ctx context.Context) error { return s.DestroyDataKey(ctx, id) },
		"RotateKeys":          func(ctx context.Context) error { _, _, err := s.RotateKeys(ctx); return err },
		"KeyStatus":           func(ctx context.Context) error { _, err := s.KeyStatus(ctx); return err },
		"MassMailing":         func(ctx context.Context) error { _, err := s.MassMailing(ctx, id); return err },
		"RunningMassMailings": func(ctx context.Context) error { _, err := s.RunningMassMailings(ctx); return err },
		"MassMailingsFor":     func(ctx context.Context) error { _, err := s.MassMailingsFor(ctx, "announcement", id); return err },
		"MassMailingProgress": func(ctx context.Context) error { return s.MassMailingProgress(ctx, id, 1, 1, 1) },
		"FinishMassMailing":   func(ctx context.Context) error { return s.FinishMassMailing(ctx, id, "") },
		"MassDelivery":        func(ctx context.Context) error { _, _, _, err := s.MassDelivery(ctx, "announcement", id); return err },
		"MailsPerPerson":      func(ctx context.Context) error { _, err := s.MailsPerPerson(ctx, "announcement"); return err },
		"SeedMembers":         func(ctx context.Context) error { _, err := s.SeedMembers(ctx); return err },
		"Members":             func(ctx context.Context) error { _, err := s.Members(ctx); return err },
		"Member":              func(ctx context.Context) error { _, err := s.Member(ctx, id); return err },
		"MemberByName":        func(ctx context.Context) error { _, err := s.MemberByName(ctx, "name"); return err },
		"SetStaff":            func(ctx context.Context) error { return s.SetStaff(ctx, id, other, RoleMemberAdmin) },
		"StaffOf":             func(ctx context.Context) error { _, err := s.StaffOf(ctx, id); return err },
		"MemberAdmins":        func(ctx context.Context) error { _, err := s.MemberAdmins(ctx, id); return err },
		"Restricted":          func(ctx context.Context) error { _, err := s.Restricted(ctx, id); return err },
		"Objects":             func(ctx context.Context) error { _, err := s.Objects(ctx, id, "statistics"); return err },
		"MailSuppressed":      func(ctx context.Context) error { _, err := s.MailSuppressed(ctx, id, "announcement"); return err },
		"AnnouncementRecipients": func(ctx context.Context) error {
			_, err := s.AnnouncementRecipients(ctx, AnnouncementFilter{})
			return err
		},
		"FeedbackRecipients": func(ctx context.Context) error { _, err := s.FeedbackRecipients(ctx, id); return err },
		"ClaimNotification":  func(ctx context.Context) error { _, err := s.ClaimNotification(ctx, "k", id, other); return err },
		"LinkNotification":   func(ctx context.Context) error { return s.LinkNotification(ctx, "k", id, other, NewID()) },
		"NotificationCount":  func(ctx context.Context) error { _, err := s.NotificationCount(ctx, "k", id); return err },
		"Unsubscribe":        func(ctx context.Context) error { return s.Unsubscribe(ctx, id, "announcements") },
		"OffsiteStatus":      func(ctx context.Context) error { _, err := s.OffsiteStatus(ctx, "sftp://h/x"); return err },
		"OffsiteTarget":      func(ctx context.Context) error { _, _, err := s.OffsiteTarget(ctx); return err },
		"LastDrill":          func(ctx context.Context) error { _, err := s.LastDrill(ctx); return err },
		"DueMail":            func(ctx context.Context) error { _, err := s.DueMail(ctx, 10); return err },
		"MarkMailSent":       func(ctx context.Context) error { return s.MarkMailSent(ctx, id) },
		"MarkMailRetry":      func(ctx context.Context) error { return s.MarkMailRetry(ctx, id, "r", now) },
		"MarkMailFailed":     func(ctx context.Context) error { return s.MarkMailFailed(ctx, id, "r") },
		"OutboxStats":        func(ctx context.Context) error { _, err := s.OutboxStats(ctx); return err },
		"OutboxMails":        func(ctx context.Context) error { _, err := s.OutboxMails(ctx, 10); return err },
		"OutboxMail":         func(ctx context.Context) error { _, err := s.OutboxMail(ctx, id); return err },
		"DeleteUserMail":     func(ctx context.Context) error { return s.DeleteUserMail(ctx, id) },
		"PolicyDraft":        func(ctx context.Context) error { _, err := s.PolicyDraft(ctx, id); return err },
		"PolicyDrafts":       func(ctx context.Context) error { _, err := s.PolicyDrafts(ctx); return err },
		"PublishPolicy":      func(ctx context.Context) error { _, err := s.PublishPolicy(ctx, other, id); return err },
		"PolicyVersionByLabel": func(ctx context.Context) error {
			_, err := s.PolicyVersionByLabel(ctx, "1")
			return err
		},
		"PolicyVersions":     func(ctx context.Context) error { _, err := s.PolicyVersions(ctx); return err },
		"PolicyToAccept":     func(ctx context.Context) error { _, err := s.PolicyToAccept(ctx, id); return err },
		"AcceptPolicy":       func(ctx context.Context) error { return s.AcceptPolicy(ctx, id, "1", "form") },
		"PolicyAcceptances":  func(ctx context.Context) error { _, err := s.PolicyAcceptances(ctx, id); return err },
		"PolicyNotice":       func(ctx context.Context) error { _, _, _, err := s.PolicyNotice(ctx); return err },
		"ActiveAccountIDs":   func(ctx context.Context) error { _, err := s.ActiveAccountIDs(ctx); return err },
		"ReportJoined":       func(ctx context.Context) error { _, err := s.ReportJoined(ctx, ReportScope{}, "month"); return err },
		"ReportTrainingUse":  func(ctx context.Context) error { _, err := s.ReportTrainingUse(ctx, ReportScope{}); return err },
		"ReportUsageByMonth": func(ctx context.Context) error { _, err := s.ReportUsageByMonth(ctx, ReportScope{}); return err },
		"ReportGrades":       func(ctx context.Context) error { _, err := s.ReportGrades(ctx, ReportScope{}); return err },
		"RetentionRules":     func(ctx context.Context) error { _, err := s.RetentionRules(ctx); return err },
		"RetentionRule":      func(ctx context.Context) error { _, err := s.RetentionRule(ctx, "access_log"); return err },
		"ReleaseLegalHold":   func(ctx context.Context) error { return s.ReleaseLegalHold(ctx, other, id) },
		"LegalHolds":         func(ctx context.Context) error { _, err := s.LegalHolds(ctx, true); return err },
		"Purge":              func(ctx context.Context) error { _, err := s.Purge(ctx, PurgeOptions{}); return err },
		"PurgeRuns":          func(ctx context.Context) error { _, err := s.PurgeRuns(ctx, 10); return err },
		"LastPurges":         func(ctx context.Context) error { _, err := s.LastPurges(ctx); return err },
		"DeleteExpiredAccountTokens": func(ctx context.Context) error {
			_, err := s.DeleteExpiredAccountTokens(ctx)
			return err
		},
		"UpdateCase": func(ctx context.Context) error {
			_, err := s.UpdateCase(ctx, id, other, "in_progress", "n")
			return err
		},
		"CompleteErasure": func(ctx context.Context) error { _, err := s.CompleteErasure(ctx, id, other); return err },
		"ExtendCase":      func(ctx context.Context) error { _, err := s.ExtendCase(ctx, id, other, 2, "reason"); return err },
		"Case":            func(ctx context.Context) error { _, err := s.Case(ctx, id); return err },
		"Cases":           func(ctx context.Context) error { _, err := s.Cases(ctx, CaseFilter{}); return err },
		"OpenCase":        func(ctx context.Context) error { _, err := s.OpenCase(ctx, id, "erasure"); return err },
		"ErasuresDue":     func(ctx context.Context) error { _, err := s.ErasuresDue(ctx); return err },
		"CasesNeedingReminder": func(ctx context.Context) error {
			_, err := s.CasesNeedingReminder(ctx, time.Hour)
			return err
		},
		"MarkReminded": func(ctx context.Context) error { return s.MarkReminded(ctx, id) },
		"Objections":   func(ctx context.Context) error { _, err := s.Objections(ctx, id); return err },
		"DPOs":         func(ctx context.Context) error { _, err := s.DPOs(ctx); return err },
		"RecordIdentityCheck": func(ctx context.Context) error {
			_, err := s.RecordIdentityCheck(ctx, id, other, "document")
			return err
		},
		"UserCertificates": func(ctx context.Context) error { _, err := s.UserCertificates(ctx, id); return err },
		"CaseCounts":       func(ctx context.Context) error { _, _, _, err := s.CaseCounts(ctx, time.Hour); return err },
		"CasesDueBy":       func(ctx context.Context) error { _, err := s.CasesDueBy(ctx, now); return err },
		"EnsureJob":        func(ctx context.Context) error { return s.EnsureJob(ctx, "job", now) },
		"ClaimJob":         func(ctx context.Context) error { _, err := s.ClaimJob(ctx, "job", id, time.Minute, false); return err },
		"RenewJobLease":    func(ctx context.Context) error { return s.RenewJobLease(ctx, "job", id, time.Minute) },
		"FinishJob":        func(ctx context.Context) error { return s.FinishJob(ctx, "job", id, now, now.Add(time.Hour), nil) },
		"SetJobNextRun":    func(ctx context.Context) error { return s.SetJobNextRun(ctx, "job", now) },
		"Jobs":             func(ctx context.Context) error { _, err := s.Jobs(ctx); return err },
		"Job":              func(ctx context.Context) error { _, err := s.Job(ctx, "job"); return err },
		"SearchLearners":   func(ctx context.Context) error { _, err := s.SearchLearners(ctx, "name", 10); return err },
		"DeleteExpiredSessions": func(ctx context.Context) error {
			_, err := s.DeleteExpiredSessions(ctx)
			return err
		},
		"CreateSetupToken": func(ctx context.Context) error { _, err := s.CreateSetupToken(ctx, time.Hour); return err },
		"SetupTokenValid":  func(ctx context.Context) error { _, err := s.SetupTokenValid(ctx, id); return err },
		"CompleteSetup": func(ctx context.Context) error {
			nu := newUser("setup")
			nu.Role = RoleOperator
			_, err := s.CompleteSetup(ctx, id, nu)
			return err
		},
		"StatsByDay":       func(ctx context.Context) error { _, err := s.StatsByDay(ctx, now, now); return err },
		"StatsByValue":     func(ctx context.Context) error { _, err := s.StatsByValue(ctx, "country", now, now); return err },
		"Ping":             func(ctx context.Context) error { return s.Ping(ctx) },
		"EraseUser":        func(ctx context.Context) error { return s.EraseUser(ctx, other, id) },
		"UpdateTraining":   func(ctx context.Context) error { return s.UpdateTraining(ctx, id, TrainingInput{}) },
		"Training":         func(ctx context.Context) error { _, err := s.Training(ctx, id); return err },
		"Trainings":        func(ctx context.Context) error { _, err := s.Trainings(ctx, CatalogueFilter{}); return err },
		"Cards":            func(ctx context.Context) error { _, err := s.Cards(ctx, CatalogueFilter{}); return err },
		"TrainingCover":    func(ctx context.Context) error { _, err := s.TrainingCover(ctx, id); return err },
		"SetTrainingCover": func(ctx context.Context) error { return s.SetTrainingCover(ctx, id, []byte{1}, "image/png") },
		"AddSession":       func(ctx context.Context) error { _, err := s.AddSession(ctx, id, now, now.Add(time.Hour)); return err },
		"TrainingSessions": func(ctx context.Context) error { _, err := s.TrainingSessions(ctx, id); return err },
		"Material":         func(ctx context.Context) error { _, err := s.Material(ctx, id, other); return err },
		"Materials":        func(ctx context.Context) error { _, err := s.Materials(ctx, id); return err },
		"Quiz":             func(ctx context.Context) error { _, err := s.Quiz(ctx, id); return err },
		"Enrol":            func(ctx context.Context) error { return s.Enrol(ctx, id, other) },
		"Enrolment":        func(ctx context.Context) error { _, err := s.Enrolment(ctx, id, other); return err },
		"Enrolments":       func(ctx context.Context) error { _, err := s.Enrolments(ctx, id); return err },
		"RecordMaterialView": func(ctx context.Context) error {
			return s.RecordMaterialView(ctx, id, other)
		},
		"MarkAttendance":     func(ctx context.Context) error { return s.MarkAttendance(ctx, id, other, NewID()) },
		"CompleteIfDone":     func(ctx context.Context) error { _, err := s.CompleteIfDone(ctx, id, other); return err },
		"CertificateByCode":  func(ctx context.Context) error { _, err := s.CertificateByCode(ctx, "ABCD-EFGH"); return err },
		"ViewedMaterials":    func(ctx context.Context) error { _, err := s.ViewedMaterials(ctx, id, other); return err },
		"TrainingLearners":   func(ctx context.Context) error { _, err := s.TrainingLearners(ctx, id); return err },
		"EnrolmentCount":     func(ctx context.Context) error { _, err := s.EnrolmentCount(ctx, id); return err },
		"Attempts":           func(ctx context.Context) error { _, err := s.Attempts(ctx, id); return err },
		"TOTP":               func(ctx context.Context) error { _, err := s.TOTP(ctx, id); return err },
		"StartTOTP":          func(ctx context.Context) error { return s.StartTOTP(ctx, id, "JBSWY3DPEHPK3PXP") },
		"UseTOTPStep":        func(ctx context.Context) error { return s.UseTOTPStep(ctx, id, 1) },
		"UseRecoveryCode":    func(ctx context.Context) error { return s.UseRecoveryCode(ctx, id, "abcd-efgh") },
		"RecoveryCodesLeft":  func(ctx context.Context) error { _, err := s.RecoveryCodesLeft(ctx, id); return err },
		"RemoveTOTP":         func(ctx context.Context) error { return s.RemoveTOTP(ctx, other, id) },
		"EmailRevertValid":   func(ctx context.Context) error { _, err := s.EmailRevertValid(ctx, id); return err },
		"RevertEmail":        func(ctx context.Context) error { _, err := s.RevertEmail(ctx, id); return err },
		"DuplicateNoticeDue": func(ctx context.Context) error { _, err := s.DuplicateNoticeDue(ctx, id); return err },
		"CreateUser":         func(ctx context.Context) error { _, err := s.CreateUser(ctx, newUser("closed")); return err },
		"User":               func(ctx context.Context) error { _, err := s.User(ctx, id); return err },
		"UserByEmail":        func(ctx context.Context) error { _, err := s.UserByEmail(ctx, "a@example.test"); return err },
		"CountOperators":     func(ctx context.Context) error { _, err := s.CountOperators(ctx); return err },
		"RecordLogin":        func(ctx context.Context) error { return s.RecordLogin(ctx, id) },
	}
}

// A closed store (a shutdown racing a request, a job left running) must
// answer every call with an error that keeps its cause: never a zero value
// read as "nothing there", never ErrNotFound (a 404 where the truth is a
// 500), never a panic.
func TestClosedStoreReportsEveryCall(t *testing.T) {
	s := newTestStore(t)
	require.NoError(t, s.Close())
	for name, call := range storeCalls(s) {
		t.Run(name, func(t *testing.T) {
			err := call(context.Background())
			require.Error(t, err)
			assert.ErrorContains(t, err, "database is closed")
			assert.NotErrorIs(t, err, ErrNotFound)
		})
	}
}

// writeFixture is a store holding one of everything a writer can act on.
type writeFixture struct {
	person, officer, staff, victim          User
	member, training, live, session         string
	material, question, attempt, certCode   string
	caseID, erasureCase, reviewCase, breach string
	breach2, verify, mail2, mail3, export2  string
	grant, mail, export, hold, draft, mass  string
	invitation, token, revert               string
}

func newWriteFixture(t *testing.T, s *Store) writeFixture {
	t.Helper()
	ctx := context.Background()
	var f writeFixture
	f.person = exportPerson(t, s)
	require.NoError(t, s.SetRestricted(ctx, f.person.ID, false))
	f.officer = createUser(t, s, operatorUser("fixtureofficer"))
	f.staff = createUser(t, s, newUser("fixturestaff"))
	f.victim = createUser(t, s, newUser("fixturevictim"))
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	f.member = m.ID
	require.NoError(t, s.SetStaff(ctx, f.staff.ID, m.ID, RoleMemberAdmin))
	tr, err := s.CreateTraining(ctx, m.ID, f.staff.ID, TrainingInput{Title: "Fixture course", Summary: "s", Language: "en",
		Kind: "self_study", PassMark: 50, Published: true})
	require.NoError(t, err)
	f.training = tr.ID
	mat, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: "page", Title: "Page", BodyMD: "x", Required: true})
	require.NoError(t, err)
	f.material = mat.ID
	q, err := s.AddQuestion(ctx, tr.ID, "Which?", []Choice{{Label: "right", Correct: true}, {Label: "wrong"}})
	require.NoError(t, err)
	f.question = q.ID
	require.NoError(t, s.Enrol(ctx, f.person.ID, tr.ID))
	require.NoError(t, s.RecordMaterialView(ctx, f.person.ID, mat.ID))
	tr, err = s.Training(ctx, tr.ID)
	require.NoError(t, err)
	a, err := s.SubmitQuiz(ctx, f.person.ID, tr, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	f.attempt = a.ID
	cert, err := s.CompleteIfDone(ctx, f.person.ID, tr.ID)
	require.NoError(t, err)
	require.NotNil(t, cert)
	f.certCode = cert.Code
	live, err := s.CreateTraining(ctx, m.ID, f.staff.ID, TrainingInput{Title: "Fixture live", Summary: "s", Language: "en",
		Kind: "live", PassMark: 50, Published: true})
	require.NoError(t, err)
	f.live = live.ID
	sess, err := s.AddSession(ctx, live.ID, s.Now().Add(time.Hour), s.Now().Add(2*time.Hour))
	require.NoError(t, err)
	f.session = sess.ID
	require.NoError(t, s.Enrol(ctx, f.person.ID, live.ID))

	c, err := s.CreateCase(ctx, NewCase{UserID: f.person.ID, Kind: CaseRectification, Status: CaseOpen, Details: "d"})
	require.NoError(t, err)
	f.caseID = c.ID
	c, err = s.CreateCase(ctx, NewCase{UserID: f.person.ID, Kind: CaseErasure, Status: CaseOpen, Details: "d"})
	require.NoError(t, err)
	f.erasureCase = c.ID
	c, err = s.CreateCase(ctx, NewCase{UserID: f.person.ID, Kind: CaseReview, Status: CaseOpen, Details: "d"})
	require.NoError(t, err)
	f.reviewCase = c.ID
	b, err := s.CreateBreach(ctx, f.officer.ID, testBreach("list", "", f.person.ID))
	require.NoError(t, err)
	f.breach = b.ID
	_, err = s.ClaimBreachNotices(ctx, b.ID, []string{f.person.ID})
	require.NoError(t, err)
	b, err = s.CreateBreach(ctx, f.officer.ID, testBreach("list", "", f.person.ID))
	require.NoError(t, err)
	f.breach2 = b.ID
	g, err := s.CreateGrant(ctx, NewGrant{MemberID: m.ID, TrainingIDs: []string{tr.ID}, Purpose: "follow-up",
		ValidFrom: s.Now().Add(-time.Hour), ValidUntil: s.Now().Add(24 * time.Hour), GrantedBy: f.person.ID})
	require.NoError(t, err)
	f.grant = g.ID
	f.mail, err = s.EnqueueMail(ctx, NewMail{UserID: f.person.ID, To: f.person.Email, Kind: "verify", Subject: "s", Text: "t"})
	require.NoError(t, err)
	f.export, err = s.CreateExport(ctx, f.staff.ID)
	require.NoError(t, err)
	f.export2, err = s.CreateExport(ctx, f.officer.ID)
	require.NoError(t, err)
	for _, id := range []*string{&f.mail2, &f.mail3} {
		*id, err = s.EnqueueMail(ctx, NewMail{UserID: f.person.ID, To: f.person.Email, Kind: "verify", Subject: "s", Text: "t"})
		require.NoError(t, err)
	}
	h, err := s.SetLegalHold(ctx, f.officer.ID, NewLegalHold{UserID: f.staff.ID, Reason: "case 9"})
	require.NoError(t, err)
	f.hold = h.ID
	d, err := s.SavePolicyDraft(ctx, f.officer.ID, PolicyDraft{Version: "2031-01", Summary: "New.", BodyMD: "# Policy\n\nNew.",
		Material: true, EffectiveAt: s.Now()})
	require.NoError(t, err)
	f.draft = d.ID
	mm, err := s.CreateMassMailing(ctx, "announcement", tr.ID, f.officer.ID, nil)
	require.NoError(t, err)
	f.mass = mm.ID
	f.invitation, err = s.CreateInvitation(ctx, Invitation{MemberID: m.ID, Role: RoleMemberStaff, Email: "invited@example.test",
		InvitedBy: f.staff.ID}, time.Hour)
	require.NoError(t, err)
	f.token, err = s.CreateAccountToken(ctx, f.person.ID, TokenReset, time.Hour, "")
	require.NoError(t, err)
	f.revert, err = s.CreateEmailRevert(ctx, f.person.ID, "old@example.test", time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.StartTOTP(ctx, f.staff.ID, "JBSWY3DPEHPK3PXP"))
	f.verify, err = s.CreateAccountToken(ctx, f.staff.ID, TokenVerify, time.Hour, "")
	require.NoError(t, err)
	for _, job := range []string{"fixture", "fixture2"} {
		require.NoError(t, s.EnsureJob(ctx, job, s.Now()))
		claimed, err := s.ClaimJob(ctx, job, "me", time.Hour, true)
		require.NoError(t, err)
		require.True(t, claimed)
	}
	return f
}

// writerCalls names one call of every writer, aimed at rows of f that
// exist, so that each gets past its reads to its first write.
func writerCalls(s *Store, f writeFixture) map[string]func(context.Context) error {
	now := s.Now()
	p, o := f.person.ID, f.officer.ID
	return map[string]func(context.Context) error{
		"SetConsents": func(ctx context.Context) error { return s.SetConsents(ctx, p, false, false, "profile") },
		"CreateAccountToken": func(ctx context.Context) error {
			_, err := s.CreateAccountToken(ctx, p, TokenVerify, time.Hour, "")
			return err
		},
		"VerifyEmail":   func(ctx context.Context) error { _, err := s.VerifyEmail(ctx, f.verify); return err },
		"ResetPassword": func(ctx context.Context) error { _, err := s.ResetPassword(ctx, f.token, "$2a$10$y"); return err },
		"SetPassword":   func(ctx context.Context) error { _, err := s.SetPassword(ctx, p, "$2a$10$y"); return err },
		"UpdateProfile": func(ctx context.Context) error {
			return s.UpdateProfile(ctx, p, Details{FirstName: "A", Surname: "B", Company: "C", Gender: "m", Country: "MY",
				Industry: "manufacturing"}, Profile{Phone: "1"}, PictureRemove)
		},
		"Audit": func(ctx context.Context) error { return s.Audit(ctx, AuditEntry{ActorID: o, Action: "test.action"}) },
		"CreateBreach": func(ctx context.Context) error {
			_, err := s.CreateBreach(ctx, o, testBreach("list", "", p))
			return err
		},
		"ClaimBreachNotices": func(ctx context.Context) error {
			_, err := s.ClaimBreachNotices(ctx, f.breach, []string{f.staff.ID})
			return err
		},
		"LinkBreachNotice":    func(ctx context.Context) error { return s.LinkBreachNotice(ctx, f.breach, p, f.mail) },
		"ReleaseBreachNotice": func(ctx context.Context) error { return s.ReleaseBreachNotice(ctx, f.breach, p) },
		"UpdateBreach": func(ctx context.Context) error {
			nb := testBreach("list", "", p)
			nb.Title = "Changed title"
			return s.UpdateBreach(ctx, o, f.breach, nb)
		},
		"AddBreachNote": func(ctx context.Context) error { return s.AddBreachNote(ctx, o, f.breach, "note") },
		"RecordAuthorityNotification": func(ctx context.Context) error {
			return s.RecordAuthorityNotification(ctx, o, f.breach, now, "ref 1")
		},
		"CloseBreach": func(ctx context.Context) error { return s.CloseBreach(ctx, o, f.breach2, "summary") },
		"RecordConsent": func(ctx context.Context) error {
			_, err := s.RecordConsent(ctx, ConsentRecord{ConsentID: NewID(), UserID: p, How: ConsentBanner,
				PolicyVersion: "2023-10-09", Revision: testRevision()})
			return err
		},
		"SetObjection":      func(ctx context.Context) error { return s.SetObjection(ctx, p, ObjectStatistics, false) },
		"SetRestricted":     func(ctx context.Context) error { return s.SetRestricted(ctx, p, false) },
		"CreateExport":      func(ctx context.Context) error { _, err := s.CreateExport(ctx, p); return err },
		"InterruptExports":  func(ctx context.Context) error { _, err := s.InterruptExports(ctx); return err },
		"SetExportProgress": func(ctx context.Context) error { return s.SetExportProgress(ctx, f.export, 40) },
		"FailExport":        func(ctx context.Context) error { return s.FailExport(ctx, f.export2, "reason") },
		"DeleteExports":     func(ctx context.Context) error { return s.DeleteExports(ctx, f.victim.ID) },
		"CreateGrant": func(ctx context.Context) error {
			_, err := s.CreateGrant(ctx, NewGrant{MemberID: f.member, TrainingIDs: []string{f.training}, Purpose: "x",
				ValidFrom: now, ValidUntil: now.Add(time.Hour), GrantedBy: p})
			return err
		},
		"RevokeGrant": func(ctx context.Context) error { return s.RevokeGrant(ctx, f.grant, p) },
		"RecordDisclosures": func(ctx context.Context) error {
			return s.RecordDisclosures(ctx, Disclosure{ViewerID: f.staff.ID, ViewerRole: string(RoleMemberAdmin),
				MemberID: f.member, View: ViewLearnerRecord, Reason: "r"}, p)
		},
		"CreateInvitation": func(ctx context.Context) error {
			_, err := s.CreateInvitation(ctx, Invitation{MemberID: f.member, Role: RoleMemberStaff, Email: "x@example.test",
				InvitedBy: f.staff.ID}, time.Hour)
			return err
		},
		"AcceptInvitation": func(ctx context.Context) error { return s.AcceptInvitation(ctx, f.invitation, p) },
		"CreateMember": func(ctx context.Context) error {
			_, err := s.CreateMember(ctx, MemberInput{Name: "Fixture member", Country: "MY", Kind: "ngo", Active: true})
			return err
		},
		"UpdateMember": func(ctx context.Context) error {
			return s.UpdateMember(ctx, f.member, MemberInput{Name: "Renamed member", Country: "MY", Kind: "ngo", Active: true})
		},
		"RemoveStaff":     func(ctx context.Context) error { return s.RemoveStaff(ctx, f.member, f.staff.ID) },
		"SetOperatorRole": func(ctx context.Context) error { return s.SetOperatorRole(ctx, o, RoleBackoffice, true) },
		"SetStaff":        func(ctx context.Context) error { return s.SetStaff(ctx, p, f.member, RoleMemberAdmin) },
		"DestroyDataKey":  func(ctx context.Context) error { return s.DestroyDataKey(ctx, f.victim.ID) },
		"RotateKeys":      func(ctx context.Context) error { _, _, err := s.RotateKeys(ctx); return err },
		"CreateMassMailing": func(ctx context.Context) error {
			_, err := s.CreateMassMailing(ctx, "announcement", f.live, o, nil)
			return err
		},
		"MassMailingProgress": func(ctx context.Context) error { return s.MassMailingProgress(ctx, f.mass, 2, 1, 1) },
		"FinishMassMailing":   func(ctx context.Context) error { return s.FinishMassMailing(ctx, f.mass, "") },
		"QueueMassMails": func(ctx context.Context) error {
			_, err := s.QueueMassMails(ctx, "announcement", f.training, []NewMail{{UserID: p, To: f.person.Email,
				Kind: "announcement", Subject: "s", Text: "t"}})
			return err
		},
		"ClaimNotification": func(ctx context.Context) error {
			_, err := s.ClaimNotification(ctx, "feedback_request", f.training, p)
			return err
		},
		"LinkNotification": func(ctx context.Context) error { return s.LinkNotification(ctx, "announcement", f.training, p, f.mail) },
		"Unsubscribe":      func(ctx context.Context) error { return s.Unsubscribe(ctx, p, ObjectFeedback) },
		"SetOffsiteTarget": func(ctx context.Context) error { return s.SetOffsiteTarget(ctx, "sftp://backup@127.0.0.1/kelas", o) },
		"EnqueueMail": func(ctx context.Context) error {
			_, err := s.EnqueueMail(ctx, NewMail{UserID: p, To: f.person.Email, Kind: "verify", Subject: "s", Text: "t"})
			return err
		},
		"MarkMailSent":   func(ctx context.Context) error { return s.MarkMailSent(ctx, f.mail) },
		"MarkMailRetry":  func(ctx context.Context) error { return s.MarkMailRetry(ctx, f.mail2, "r", now.Add(time.Minute)) },
		"MarkMailFailed": func(ctx context.Context) error { return s.MarkMailFailed(ctx, f.mail3, "r") },
		"DeleteUserMail": func(ctx context.Context) error { return s.DeleteUserMail(ctx, f.victim.ID) },
		"SavePolicyDraft": func(ctx context.Context) error {
			_, err := s.SavePolicyDraft(ctx, o, PolicyDraft{Version: "2032-01", Summary: "x", BodyMD: "# P\n\nx", Material: true, EffectiveAt: now})
			return err
		},
		"PublishPolicy":     func(ctx context.Context) error { _, err := s.PublishPolicy(ctx, o, f.draft); return err },
		"AcceptPolicy":      func(ctx context.Context) error { return s.AcceptPolicy(ctx, p, "2023-10-09", "login") },
		"SetRetentionRules": func(ctx context.Context) error { return s.SetRetentionRules(ctx, o, map[string]int{RetAudit: 400}) },
		"SetLegalHold": func(ctx context.Context) error {
			_, err := s.SetLegalHold(ctx, o, NewLegalHold{UserID: p, Reason: "r"})
			return err
		},
		"ReleaseLegalHold": func(ctx context.Context) error { return s.ReleaseLegalHold(ctx, o, f.hold) },
		"Purge":            func(ctx context.Context) error { _, err := s.Purge(ctx, PurgeOptions{}); return err },
		"DeleteExpiredAccountTokens": func(ctx context.Context) error {
			_, err := s.DeleteExpiredAccountTokens(ctx)
			return err
		},
		"CreateCase": func(ctx context.Context) error {
			_, err := s.CreateCase(ctx, NewCase{UserID: p, Kind: CaseAccess, Status: CaseOpen, Details: "d"})
			return err
		},
		"UpdateCase": func(ctx context.Context) error {
			_, err := s.UpdateCase(ctx, f.caseID, o, CaseInProgress, "n")
			return err
		},
		"CompleteErasure": func(ctx context.Context) error { _, err := s.CompleteErasure(ctx, f.erasureCase, o); return err },
		"ExtendCase":      func(ctx context.Context) error { _, err := s.ExtendCase(ctx, f.caseID, o, 2, "complex"); return err },
		"MarkReminded":    func(ctx context.Context) error { return s.MarkReminded(ctx, f.caseID) },
		"RecordIdentityCheck": func(ctx context.Context) error {
			_, err := s.RecordIdentityCheck(ctx, f.caseID, o, "document")
			return err
		},
		"RectifyCertificateName": func(ctx context.Context) error {
			_, err := s.RectifyCertificateName(ctx, f.caseID, o, f.certCode, "New Name")
			return err
		},
		"ReviewGrade": func(ctx context.Context) error {
			_, err := s.ReviewGrade(ctx, f.reviewCase, o, GradeDecision{AttemptID: f.attempt, Change: true, Score: 90, Reason: "r"})
			return err
		},
		"EnsureJob": func(ctx context.Context) error { return s.EnsureJob(ctx, "another", now) },
		"ClaimJob": func(ctx context.Context) error {
			_, err := s.ClaimJob(ctx, "fixture", "me", time.Minute, true)
			return err
		},
		"RenewJobLease": func(ctx context.Context) error { return s.RenewJobLease(ctx, "fixture", "me", time.Minute) },
		"FinishJob": func(ctx context.Context) error {
			return s.FinishJob(ctx, "fixture2", "me", now, now.Add(time.Hour), nil)
		},
		"SetJobNextRun": func(ctx context.Context) error { return s.SetJobNextRun(ctx, "fixture", now.Add(time.Hour)) },
		"SessionCommit": func(ctx context.Context) error {
			return s.Sessions().CommitCtx(ctx, "tok", []byte("data"), now.Add(time.Hour))
		},
		"SessionDelete":         func(ctx context.Context) error { return s.Sessions().DeleteCtx(ctx, "tok") },
		"DeleteExpiredSessions": func(ctx context.Context) error { _, err := s.DeleteExpiredSessions(ctx); return err },
		"CreateSetupToken":      func(ctx context.Context) error { _, err := s.CreateSetupToken(ctx, time.Hour); return err },
		"AddStats": func(ctx context.Context) error {
			return s.AddStats(ctx, []HourCount{{Day: "2025-03-14", Hour: 9, Views: 1, Visitors: 1}},
				[]DimCount{{Day: "2025-03-14", Dimension: "browser", Value: "Firefox", Views: 1, Visitors: 1}})
		},
		"EraseUser": func(ctx context.Context) error { return s.EraseUser(ctx, o, f.victim.ID) },
		"CreateTraining": func(ctx context.Context) error {
			_, err := s.CreateTraining(ctx, f.member, f.staff.ID, TrainingInput{Title: "T", Summary: "s", Language: "en",
				Kind: "self_study", PassMark: 50})
			return err
		},
		"UpdateTraining": func(ctx context.Context) error {
			return s.UpdateTraining(ctx, f.training, TrainingInput{Title: "T2", Summary: "s", Language: "en", Kind: "self_study", PassMark: 60})
		},
		"SetTrainingCover":    func(ctx context.Context) error { return s.SetTrainingCover(ctx, f.training, []byte{1}, "image/png") },
		"RemoveTrainingCover": func(ctx context.Context) error { return s.RemoveTrainingCover(ctx, f.live) },
		"AddSession": func(ctx context.Context) error {
			_, err := s.AddSession(ctx, f.live, now.Add(3*time.Hour), now.Add(4*time.Hour))
			return err
		},
		"AddMaterial": func(ctx context.Context) error {
			_, err := s.AddMaterial(ctx, f.training, "", MaterialInput{Kind: "page", Title: "P2", BodyMD: "y"})
			return err
		},
		"AddQuestion": func(ctx context.Context) error {
			_, err := s.AddQuestion(ctx, f.training, "Q2?", []Choice{{Label: "a", Correct: true}, {Label: "b"}})
			return err
		},
		"Enrol":              func(ctx context.Context) error { return s.Enrol(ctx, f.staff.ID, f.training) },
		"RecordMaterialView": func(ctx context.Context) error { return s.RecordMaterialView(ctx, f.staff.ID, f.material) },
		"MarkAttendance":     func(ctx context.Context) error { return s.MarkAttendance(ctx, f.session, p, f.staff.ID) },
		"StartTOTP":          func(ctx context.Context) error { return s.StartTOTP(ctx, p, "JBSWY3DPEHPK3PXP") },
		"ConfirmTOTP": func(ctx context.Context) error {
			return s.ConfirmTOTP(ctx, f.staff.ID, 7, []string{"aaaa-bbbb"})
		},
		"ReplaceRecoveryCodes": func(ctx context.Context) error {
			return s.ReplaceRecoveryCodes(ctx, f.staff.ID, []string{"cccc-dddd"})
		},
		"RemoveTOTP": func(ctx context.Context) error { return s.RemoveTOTP(ctx, o, f.staff.ID) },
		"CreateEmailRevert": func(ctx context.Context) error {
			_, err := s.CreateEmailRevert(ctx, p, "o@example.test", time.Hour)
			return err
		},
		"RevertEmail": func(ctx context.Context) error { _, err := s.RevertEmail(ctx, f.revert); return err },
		"CreateUser":  func(ctx context.Context) error { _, err := s.CreateUser(ctx, newUser("refused")); return err },
		"RecordLogin": func(ctx context.Context) error { return s.RecordLogin(ctx, p) },
		"WriteAccessLog": func(ctx context.Context) error {
			return s.WriteAccessLog(ctx, []AccessEntry{{At: now, Method: "GET", Route: "GET /x", Status: 200}})
		},
	}
}

// writerRules are the errors the writers of writerCalls stop at, run in
// order on one fixture, by their own rules.
var writerRules = map[string]error{
	"CompleteErasure":   ErrErasureNotCarriedOut, // the person is erased by a later call
	"SetExportProgress": ErrNotFound,             // InterruptExports ended the export
}

// refuseWrites makes both write connections refuse every change from now
// on, as a read-only medium or a database left read-only would.
func refuseWrites(t *testing.T, s *Store) {
	t.Helper()
	for _, db := range []*sql.DB{s.db, s.kdb} {
		_, err := db.Exec("PRAGMA query_only = 1")
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		for _, db := range []*sql.DB{s.db, s.kdb} {
			db.Exec("PRAGMA query_only = 0")
		}
	})
}

// Databases that refuse writes: every writer says so, with the cause, and
// neither database changes. A writer that swallowed the failure would
// report success for a change that was never made (a consent withdrawn, a
// key destroyed).
func TestRefusedWritesAreReportedAndChangeNothing(t *testing.T) {
	// The control: on a store that takes writes, each writer (in the
	// order below) succeeds, or stops at the rule named here, so the
	// errors below come from the refusal.
	t.Run("control", func(t *testing.T) {
		s := newTestStore(t)
		writers := writerCalls(s, newWriteFixture(t, s))
		for _, name := range sortedKeys(writers) {
			err := writers[name](context.Background())
			if want, ok := writerRules[name]; ok {
				assert.ErrorIs(t, err, want, name)
			} else {
				assert.NoError(t, err, name)
			}
		}
	})
	s := newTestStore(t)
	f := newWriteFixture(t, s)
	before, beforeKeys := dump(t, s.db), dump(t, s.kdb)
	refuseWrites(t, s)
	for name, call := range writerCalls(s, f) {
		t.Run(name, func(t *testing.T) {
			err := call(context.Background())
			require.Error(t, err)
			assert.ErrorContains(t, err, "readonly")
		})
	}
	assert.Equal(t, before, dump(t, s.db), "kelas.db changed")
	assert.Equal(t, beforeKeys, dump(t, s.kdb), "keys.db changed")
}

// readerCalls names one call of every reader, aimed at rows of f that
// exist, so that each reads as far as it can.
func readerCalls(s *Store, f writeFixture) map[string]func(context.Context) error {
	now := s.Now()
	p := f.person.ID
	return map[string]func(context.Context) error{
		"AccessLog": func(ctx context.Context) error { _, err := s.AccessLog(ctx, 10); return err },
		"Settings":  func(ctx context.Context) error { _, err := s.Settings(ctx); return err },
		"PolicyTranslations": func(ctx context.Context) error {
			_, err := s.PolicyTranslations(ctx, "2023-10-09")
			return err
		},
		"CurrentPolicy":     func(ctx context.Context) error { _, err := s.CurrentPolicy(ctx); return err },
		"Consents":          func(ctx context.Context) error { _, err := s.Consents(ctx, p); return err },
		"AccountTokenValid": func(ctx context.Context) error { _, err := s.AccountTokenValid(ctx, f.token, TokenReset); return err },
		"AccountTokenOwner": func(ctx context.Context) error { _, err := s.AccountTokenOwner(ctx, f.token, TokenReset); return err },
		"PendingEmail":      func(ctx context.Context) error { _, err := s.PendingEmail(ctx, p); return err },
		"Profile":           func(ctx context.Context) error { _, err := s.Profile(ctx, p); return err },
		"Activity":          func(ctx context.Context) error { _, err := s.Activity(ctx, p, 10); return err },
		"AuditAnchorStatus": func(ctx context.Context) error { _, _, err := s.AuditAnchorStatus(ctx); return err },
		"VerifyAudit":       func(ctx context.Context) error { _, err := s.VerifyAudit(ctx); return err },
		"AuditLog":          func(ctx context.Context) error { _, err := s.AuditLog(ctx, 10); return err },
		"Backups":           func(ctx context.Context) error { _, err := s.Backups(ctx, 10); return err },
		"BackupStatus":      func(ctx context.Context) error { _, err := s.BackupStatus(ctx); return err },
		"Breach":            func(ctx context.Context) error { _, err := s.Breach(ctx, f.breach); return err },
		"Breaches":          func(ctx context.Context) error { _, err := s.Breaches(ctx); return err },
		"BreachAffected": func(ctx context.Context) error {
			b, err := s.Breach(ctx, f.breach)
			if err != nil {
				return err
			}
			_, err = s.BreachAffected(ctx, b)
			return err
		},
		"BreachNotices":          func(ctx context.Context) error { _, _, err := s.BreachNotices(ctx, f.breach, 10); return err },
		"RunningBreaches":        func(ctx context.Context) error { _, err := s.RunningBreaches(ctx); return err },
		"RunningBreachCount":     func(ctx context.Context) error { _, err := s.RunningBreachCount(ctx); return err },
		"ConsentRecords":         func(ctx context.Context) error { _, err := s.ConsentRecords(ctx, p); return err },
		"ExcludedFromStatistics": func(ctx context.Context) error { _, err := s.ExcludedFromStatistics(ctx, p); return err },
		"PersonalData":           func(ctx context.Context) error { _, err := s.PersonalData(ctx, p); return err },
		"Export":                 func(ctx context.Context) error { _, err := s.Export(ctx, f.staff.ID, f.export); return err },
		"LatestExport":           func(ctx context.Context) error { _, err := s.LatestExport(ctx, f.staff.ID); return err },
		"Exports":                func(ctx context.Context) error { _, err := s.Exports(ctx, f.staff.ID); return err },
		"Grant":                  func(ctx context.Context) error { _, err := s.Grant(ctx, f.grant); return err },
		"Grants":                 func(ctx context.Context) error { _, err := s.Grants(ctx, f.member); return err },
		"ActiveGrantFor":         func(ctx context.Context) error { _, err := s.ActiveGrantFor(ctx, f.member, f.training); return err },
		"GrantedLearner":         func(ctx context.Context) error { _, _, err := s.GrantedLearner(ctx, f.member, p); return err },
		"Disclosures":            func(ctx context.Context) error { _, err := s.Disclosures(ctx, p); return err },
		"AllDisclosures":         func(ctx context.Context) error { _, err := s.AllDisclosures(ctx, DisclosureFilter{}); return err },
		"VisibleLearners":        func(ctx context.Context) error { _, err := s.VisibleLearners(ctx, f.training); return err },
		"InvitationByToken":      func(ctx context.Context) error { _, err := s.InvitationByToken(ctx, f.invitation); return err },
		"PendingInvitations":     func(ctx context.Context) error { _, err := s.PendingInvitations(ctx, f.member); return err },
		"MemberStaff":            func(ctx context.Context) error { _, err := s.MemberStaff(ctx, f.member); return err },
		"Operators":              func(ctx context.Context) error { _, err := s.Operators(ctx); return err },
		"HeldPeople":             func(ctx context.Context) error { _, err := s.HeldPeople(ctx); return err },
		"JournalStatus":          func(ctx context.Context) error { _, err := s.JournalStatus(ctx); return err },
		"KeyStatus":              func(ctx context.Context) error { _, err := s.KeyStatus(ctx); return err },
		"MassMailing":            func(ctx context.Context) error { _, err := s.MassMailing(ctx, f.mass); return err },
		"RunningMassMailings":    func(ctx context.Context) error { _, err := s.RunningMassMailings(ctx); return err },
		"MassMailingsFor": func(ctx context.Context) error {
			_, err := s.MassMailingsFor(ctx, "announcement", f.training)
			return err
		},
		"MassDelivery": func(ctx context.Context) error {
			_, _, _, err := s.MassDelivery(ctx, "announcement", f.training)
			return err
		},
		"MailsPerPerson": func(ctx context.Context) error { _, err := s.MailsPerPerson(ctx, "verify"); return err },
		"Members":        func(ctx context.Context) error { _, err := s.Members(ctx); return err },
		"Member":         func(ctx context.Context) error { _, err := s.Member(ctx, f.member); return err },
		"StaffOf":        func(ctx context.Context) error { _, err := s.StaffOf(ctx, f.staff.ID); return err },
		"MemberAdmins":   func(ctx context.Context) error { _, err := s.MemberAdmins(ctx, f.member); return err },
		"Restricted":     func(ctx context.Context) error { _, err := s.Restricted(ctx, p); return err },
		"Objects":        func(ctx context.Context) error { _, err := s.Objects(ctx, p, ObjectStatistics); return err },
		"MailSuppressed": func(ctx context.Context) error { _, err := s.MailSuppressed(ctx, p, "announcement"); return err },
		"AnnouncementRecipients": func(ctx context.Context) error {
			_, err := s.AnnouncementRecipients(ctx, AnnouncementFilter{})
			return err
		},
		"FeedbackRecipients": func(ctx context.Context) error { _, err := s.FeedbackRecipients(ctx, f.training); return err },
		"NotificationCount": func(ctx context.Context) error {
			_, err := s.NotificationCount(ctx, "announcement", f.training)
			return err
		},
		"OffsiteStatus":        func(ctx context.Context) error { _, err := s.OffsiteStatus(ctx, "sftp://h/x"); return err },
		"OffsiteTarget":        func(ctx context.Context) error { _, _, err := s.OffsiteTarget(ctx); return err },
		"LastDrill":            func(ctx context.Context) error { _, err := s.LastDrill(ctx); return err },
		"DueMail":              func(ctx context.Context) error { _, err := s.DueMail(ctx, 10); return err },
		"OutboxStats":          func(ctx context.Context) error { _, err := s.OutboxStats(ctx); return err },
		"OutboxMails":          func(ctx context.Context) error { _, err := s.OutboxMails(ctx, 10); return err },
		"OutboxMail":           func(ctx context.Context) error { _, err := s.OutboxMail(ctx, f.mail); return err },
		"PolicyDraft":          func(ctx context.Context) error { _, err := s.PolicyDraft(ctx, f.draft); return err },
		"PolicyDrafts":         func(ctx context.Context) error { _, err := s.PolicyDrafts(ctx); return err },
		"PolicyVersionByLabel": func(ctx context.Context) error { _, err := s.PolicyVersionByLabel(ctx, "2023-10-09"); return err },
		"PolicyVersions":       func(ctx context.Context) error { _, err := s.PolicyVersions(ctx); return err },
		"PolicyToAccept":       func(ctx context.Context) error { _, err := s.PolicyToAccept(ctx, p); return err },
		"PolicyAcceptances":    func(ctx context.Context) error { _, err := s.PolicyAcceptances(ctx, p); return err },
		"PolicyNotice":         func(ctx context.Context) error { _, _, _, err := s.PolicyNotice(ctx); return err },
		"ActiveAccountIDs":     func(ctx context.Context) error { _, err := s.ActiveAccountIDs(ctx); return err },
		"ReportJoined":         func(ctx context.Context) error { _, err := s.ReportJoined(ctx, ReportScope{}, "country"); return err },
		"ReportTrainingUse":    func(ctx context.Context) error { _, err := s.ReportTrainingUse(ctx, ReportScope{}); return err },
		"ReportUsageByMonth":   func(ctx context.Context) error { _, err := s.ReportUsageByMonth(ctx, ReportScope{}); return err },
		"ReportGrades":         func(ctx context.Context) error { _, err := s.ReportGrades(ctx, ReportScope{}); return err },
		"MemberReportGrades": func(ctx context.Context) error {
			_, err := s.ReportGrades(ctx, ReportScope{MemberID: f.member})
			return err
		},
		"RetentionRules":       func(ctx context.Context) error { _, err := s.RetentionRules(ctx); return err },
		"RetentionRule":        func(ctx context.Context) error { _, err := s.RetentionRule(ctx, RetAudit); return err },
		"LegalHolds":           func(ctx context.Context) error { _, err := s.LegalHolds(ctx, true); return err },
		"PurgeRuns":            func(ctx context.Context) error { _, err := s.PurgeRuns(ctx, 10); return err },
		"LastPurges":           func(ctx context.Context) error { _, err := s.LastPurges(ctx); return err },
		"Case":                 func(ctx context.Context) error { _, err := s.Case(ctx, f.caseID); return err },
		"UserCase":             func(ctx context.Context) error { _, err := s.UserCase(ctx, p, f.caseID); return err },
		"Cases":                func(ctx context.Context) error { _, err := s.Cases(ctx, CaseFilter{}); return err },
		"OpenCase":             func(ctx context.Context) error { _, err := s.OpenCase(ctx, p, CaseErasure); return err },
		"ErasuresDue":          func(ctx context.Context) error { _, err := s.ErasuresDue(ctx); return err },
		"CasesNeedingReminder": func(ctx context.Context) error { _, err := s.CasesNeedingReminder(ctx, 60*24*time.Hour); return err },
		"Objections":           func(ctx context.Context) error { _, err := s.Objections(ctx, p); return err },
		"DPOs":                 func(ctx context.Context) error { _, err := s.DPOs(ctx); return err },
		"UserCertificates":     func(ctx context.Context) error { _, err := s.UserCertificates(ctx, p); return err },
		"CaseCounts":           func(ctx context.Context) error { _, _, _, err := s.CaseCounts(ctx, 60*24*time.Hour); return err },
		"CasesDueBy":           func(ctx context.Context) error { _, err := s.CasesDueBy(ctx, now.Add(90*24*time.Hour)); return err },
		"Jobs":                 func(ctx context.Context) error { _, err := s.Jobs(ctx); return err },
		"Job":                  func(ctx context.Context) error { _, err := s.Job(ctx, "fixture"); return err },
		"SearchLearners":       func(ctx context.Context) error { _, err := s.SearchLearners(ctx, "Xportsurname", 10); return err },
		"SessionFind":          func(ctx context.Context) error { _, _, err := s.Sessions().FindCtx(ctx, "tok"); return err },
		"SetupTokenValid":      func(ctx context.Context) error { _, err := s.SetupTokenValid(ctx, f.token); return err },
		"StatsByDay":           func(ctx context.Context) error { _, err := s.StatsByDay(ctx, now.Add(-48*time.Hour), now); return err },
		"StatsByValue": func(ctx context.Context) error {
			_, err := s.StatsByValue(ctx, "country", now.Add(-48*time.Hour), now)
			return err
		},
		"TombstonesPending": func(ctx context.Context) error { _, _, err := s.TombstonesPending(ctx); return err },
		"Training":          func(ctx context.Context) error { _, err := s.Training(ctx, f.training); return err },
		"Trainings":         func(ctx context.Context) error { _, err := s.Trainings(ctx, CatalogueFilter{}); return err },
		"Cards":             func(ctx context.Context) error { _, err := s.Cards(ctx, CatalogueFilter{}); return err },
		"NewestCards":       func(ctx context.Context) error { _, err := s.NewestCards(ctx, 6); return err },
		"MostFollowedCards": func(ctx context.Context) error { _, err := s.MostFollowedCards(ctx, 6); return err },
		"TrainingCover": func(ctx context.Context) error {
			if _, err := s.TrainingCover(ctx, f.training); !errors.Is(err, ErrNotFound) {
				return err
			}
			return nil
		},
		"TrainingSessions":   func(ctx context.Context) error { _, err := s.TrainingSessions(ctx, f.live); return err },
		"Material":           func(ctx context.Context) error { _, err := s.Material(ctx, f.training, f.material); return err },
		"Materials":          func(ctx context.Context) error { _, err := s.Materials(ctx, f.training); return err },
		"Quiz":               func(ctx context.Context) error { _, err := s.Quiz(ctx, f.training); return err },
		"Enrolment":          func(ctx context.Context) error { _, err := s.Enrolment(ctx, p, f.training); return err },
		"Enrolments":         func(ctx context.Context) error { _, err := s.Enrolments(ctx, p); return err },
		"CompleteIfDone":     func(ctx context.Context) error { _, err := s.CompleteIfDone(ctx, p, f.training); return err },
		"CertificateByCode":  func(ctx context.Context) error { _, err := s.CertificateByCode(ctx, f.certCode); return err },
		"ViewedMaterials":    func(ctx context.Context) error { _, err := s.ViewedMaterials(ctx, p, f.training); return err },
		"TrainingLearners":   func(ctx context.Context) error { _, err := s.TrainingLearners(ctx, f.training); return err },
		"EnrolmentCount":     func(ctx context.Context) error { _, err := s.EnrolmentCount(ctx, f.training); return err },
		"Attempts":           func(ctx context.Context) error { _, err := s.Attempts(ctx, p); return err },
		"TOTP":               func(ctx context.Context) error { _, err := s.TOTP(ctx, f.staff.ID); return err },
		"RecoveryCodesLeft":  func(ctx context.Context) error { _, err := s.RecoveryCodesLeft(ctx, f.staff.ID); return err },
		"EmailRevertValid":   func(ctx context.Context) error { _, err := s.EmailRevertValid(ctx, f.revert); return err },
		"DuplicateNoticeDue": func(ctx context.Context) error { _, err := s.DuplicateNoticeDue(ctx, p); return err },
		"User":               func(ctx context.Context) error { _, err := s.User(ctx, p); return err },
		"UserByEmail":        func(ctx context.Context) error { _, err := s.UserByEmail(ctx, f.person.Email); return err },
		"CountOperators":     func(ctx context.Context) error { _, err := s.CountOperators(ctx); return err },
		"Ping":               func(ctx context.Context) error { return s.Ping(ctx) },
	}
}

// tablesOf lists the tables of the database file at path.
func tablesOf(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// A database missing one of its tables (a damaged file, a hand edit, a
// restore of the wrong file): for every table of either database, kelas
// either refuses to open, naming the table, or every reader and writer that
// needs the table fails with an error that keeps the cause. None reads
// the missing table as "not found" or as an empty result, which would show
// a person without their data or let a check pass.
func TestMissingTableIsReportedByEveryCall(t *testing.T) {
	if testing.Short() {
		// A copy of both databases per table, every call on each: the
		// plain test pass runs it; under the race detector it would take
		// minutes and exercises no concurrency.
		t.Skip("runs in full without -short")
	}
	ctx := context.Background()
	src, key := t.TempDir(), newMasterKey(t)
	s, err := Open(ctx, Options{Dir: src, MasterKey: key})
	require.NoError(t, err)
	f := newWriteFixture(t, s)
	// The control: on the intact copy every reader succeeds, so each
	// failure below comes from the missing table.
	for name, call := range readerCalls(s, f) {
		require.NoError(t, call(ctx), name)
	}
	require.NoError(t, s.Close())

	for _, file := range []string{MainDBFile, KeysDBFile} {
		for _, table := range tablesOf(t, filepath.Join(src, file)) {
			t.Run(file+"/"+table, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				copyTree(t, src, dir)
				execFile(t, filepath.Join(dir, file), "DROP TABLE "+table)
				s, err := Open(ctx, Options{Dir: dir, MasterKey: key})
				if err != nil {
					if table == "schema_migrations" {
						// Without its record every migration is applied
						// again, and the first finds its tables there.
						assert.ErrorContains(t, err, "already exists")
					} else {
						assert.ErrorContains(t, err, table)
					}
					failingWritesChangeNothing(t, src, key, f, file, table, nil)
					return
				}
				defer func() { assert.NoError(t, s.Close()) }()
				missing := "no such table: " + table
				used := 0
				// Readers first, on the untouched copy: a reader's error
				// is the missing table, or (its data living elsewhere)
				// none at all.
				readers := readerCalls(s, f)
				for _, name := range sortedKeys(readers) {
					err := readers[name](ctx)
					if err == nil {
						continue
					}
					if assert.ErrorContains(t, err, missing, name) {
						used++
					}
					assert.NotErrorIs(t, err, ErrNotFound, name)
				}
				// Writers change the copy as they go, so a later one may
				// find its row gone; none may report success while the
				// cause is lost, and the table must show in some error.
				writers := writerCalls(s, f)
				var touched []string
				for _, name := range sortedKeys(writers) {
					if err := writers[name](ctx); err != nil && strings.Contains(err.Error(), missing) {
						used++
						touched = append(touched, name)
					}
				}
				assert.Positive(t, used, "no call reported the missing table")
				failingWritesChangeNothing(t, src, key, f, file, table, touched)
			})
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// damageTimes overwrites every stored time in the database file at path
// with text that is not a time, as a damaged page or a hand edit would.
func damageTimes(t *testing.T, path string) {
	t.Helper()
	damageColumns(t, path, func(table, col string) string {
		return `UPDATE "` + table + `" SET "` + col + `" = 'damaged time' WHERE typeof("` + col + `") = 'text' AND "` + col +
			`" GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:*Z'`
	})
}

// damageSealed overwrites every sealed value in the database file at path
// with random bytes of the same length. Blind indexes and hashes, which
// are looked up rather than opened, are left alone.
func damageSealed(t *testing.T, path string) {
	t.Helper()
	damageColumns(t, path, func(table, col string) string {
		if strings.HasSuffix(col, "_index") || strings.HasSuffix(col, "_hash") || col == "hash" || col == "tag" {
			return ""
		}
		return `UPDATE "` + table + `" SET "` + col + `" = randomblob(length("` + col + `")) WHERE typeof("` + col + `") = 'blob'`
	})
}

// damageColumns runs the statement update returns for each column of each
// table of the database file at path, with its triggers and CHECK
// constraints out of the way (damage does not ask them).
func damageColumns(t *testing.T, path string, update func(table, col string) string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec("PRAGMA ignore_check_constraints = ON")
	require.NoError(t, err)
	var triggers []string
	rows, err := db.Query("SELECT name FROM sqlite_schema WHERE type = 'trigger'")
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		triggers = append(triggers, n)
	}
	require.NoError(t, rows.Close())
	for _, n := range triggers {
		_, err := db.Exec("DROP TRIGGER " + n)
		require.NoError(t, err)
	}
	for _, table := range tablesOf(t, path) {
		rows, err := db.Query("SELECT name FROM pragma_table_info(?)", table)
		require.NoError(t, err)
		var cols []string
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			cols = append(cols, c)
		}
		require.NoError(t, rows.Close())
		for _, c := range cols {
			if q := update(table, c); q != "" {
				_, err := db.Exec(q)
				require.NoError(t, err, "%s.%s", table, c)
			}
		}
	}
}

// Stored times that no longer parse: every reader that returns one fails,
// saying which value is wrong, instead of returning the zero time (a
// deadline of year 1 reads as long overdue, an expiry of year 1 as
// expired), and none reads the damage as "not found".
func TestDamagedTimesAreReportedByEveryReader(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s, err := Open(ctx, Options{Dir: dir, MasterKey: key})
	require.NoError(t, err)
	f := newWriteFixture(t, s)
	require.NoError(t, s.Close())
	damageTimes(t, filepath.Join(dir, MainDBFile))
	damageTimes(t, filepath.Join(dir, KeysDBFile))

	s = openTestStore(t, dir, key, nil)
	// Readers that compare the time in SQL fail closed: a damaged validity
	// window grants nothing, a damaged effective date puts no policy in
	// force. The audit chain covers its times, so it no longer verifies.
	closed := map[string]error{"ActiveGrantFor": ErrNotFound, "GrantedLearner": ErrNotFound, "CurrentPolicy": ErrNotFound,
		"VerifyAudit": ErrAuditBroken}
	readers := readerCalls(s, f)
	failed := 0
	for _, name := range sortedKeys(readers) {
		err := readers[name](ctx)
		if want, ok := closed[name]; ok {
			assert.ErrorIs(t, err, want, name)
			continue
		}
		if err == nil {
			continue
		}
		failed++
		assert.ErrorContains(t, err, `"damaged time"`, name)
		assert.NotErrorIs(t, err, ErrNotFound, name)
	}
	assert.Greater(t, failed, len(readers)/3, "most readers return a stored time")
}

// Input the callers should never send is refused before anything is
// written, with an error naming what is wrong.
func TestInvalidInputIsRefusedBeforeWriting(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	f := newWriteFixture(t, s)
	other, err := s.CreateMember(ctx, MemberInput{Name: "Other member", Country: "MY", Kind: "ngo", Active: true})
	require.NoError(t, err)
	now := s.Now()
	breach := func(edit func(*NewBreach)) NewBreach {
		nb := testBreach("list", "", f.person.ID)
		edit(&nb)
		return nb
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"account token purpose", func() error {
			_, err := s.CreateAccountToken(ctx, f.person.ID, "login", time.Hour, "")
			return err
		}, `unknown purpose "login"`},
		{"breach detected before it occurred", func() error {
			_, err := s.CreateBreach(ctx, f.officer.ID, breach(func(nb *NewBreach) { nb.DetectedAt = nb.OccurredAt.Add(-time.Hour) }))
			return err
		}, "detected before it occurred"},
		{"breach without category", func() error {
			_, err := s.CreateBreach(ctx, f.officer.ID, breach(func(nb *NewBreach) { nb.Categories = nil }))
			return err
		}, "no data category"},
		{"breach edit detected before it occurred", func() error {
			return s.UpdateBreach(ctx, f.officer.ID, f.breach, breach(func(nb *NewBreach) { nb.DetectedAt = nb.OccurredAt.Add(-time.Hour) }))
		}, "detected before it occurred"},
		{"breach edit without category", func() error {
			return s.UpdateBreach(ctx, f.officer.ID, f.breach, breach(func(nb *NewBreach) { nb.Categories = nil }))
		}, "no data category"},
		{"breach edit with unknown category", func() error {
			return s.UpdateBreach(ctx, f.officer.ID, f.breach, breach(func(nb *NewBreach) { nb.Categories = []string{"shoe sizes"} }))
		}, `unknown category "shoe sizes"`},
		{"grant with an empty window", func() error {
			_, err := s.CreateGrant(ctx, NewGrant{MemberID: f.member, TrainingIDs: []string{f.training}, Purpose: "x",
				ValidFrom: now, ValidUntil: now, GrantedBy: f.person.ID})
			return err
		}, "empty window or no trainings"},
		{"grant on another member's training", func() error {
			_, err := s.CreateGrant(ctx, NewGrant{MemberID: other.ID, TrainingIDs: []string{f.training}, Purpose: "x",
				ValidFrom: now, ValidUntil: now.Add(time.Hour), GrantedBy: f.person.ID})
			return err
		}, ErrGrantTraining.Error()},
		{"operator invitation for a Member", func() error {
			_, err := s.CreateInvitation(ctx, Invitation{MemberID: f.member, Role: RoleOperator, Email: "x@example.test",
				InvitedBy: f.officer.ID}, time.Hour)
			return err
		}, `role "operator" and Member do not fit`},
		{"operator role that is not one", func() error { return s.SetOperatorRole(ctx, f.officer.ID, RoleMemberStaff, false) },
			"is not an operator role"},
		{"mass mailing kind", func() error {
			_, err := s.CreateMassMailing(ctx, "spam", f.training, f.officer.ID, nil)
			return err
		}, `unknown kind "spam"`},
		{"mass mail of another kind", func() error {
			_, err := s.QueueMassMails(ctx, "announcement", f.training, []NewMail{{UserID: f.person.ID, To: f.person.Email,
				Kind: "verify", Subject: "s", Text: "t"}})
			return err
		}, "mail 0 is not a announcement to an account"},
		{"mass mail to no account", func() error {
			_, err := s.QueueMassMails(ctx, "announcement", f.training, []NewMail{{To: "x@example.test",
				Kind: "announcement", Subject: "s", Text: "t"}})
			return err
		}, "mail 0 is not a announcement to an account"},
		{"staff role", func() error { return s.SetStaff(ctx, f.person.ID, f.member, RoleOperator) }, `invalid role "operator"`},
		{"unsubscribe purpose", func() error { return s.Unsubscribe(ctx, f.person.ID, "everything") }, `unknown purpose "everything"`},
		{"export checksum", func() error { return s.FinishExport(ctx, f.export, 10, "abc") }, "invalid size or checksum"},
		{"export size", func() error { return s.FinishExport(ctx, f.export, -1, strings.Repeat("0", 64)) }, "invalid size or checksum"},
	}
	before, beforeKeys := dump(t, s.db), dump(t, s.kdb)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	assert.Equal(t, before, dump(t, s.db), "kelas.db changed")
	assert.Equal(t, beforeKeys, dump(t, s.kdb), "keys.db changed")
}

// Sealed values that no longer open (damaged bytes, or sealed under
// another key): every reader that returns one fails, naming the column,
// instead of returning garbage or an empty value, and none reads the
// damage as "not found".
func TestDamagedSealedValuesAreReportedByEveryReader(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s, err := Open(ctx, Options{Dir: dir, MasterKey: key})
	require.NoError(t, err)
	f := newWriteFixture(t, s)
	require.NoError(t, s.Close())
	damageSealed(t, filepath.Join(dir, MainDBFile))

	s = openTestStore(t, dir, key, nil)
	readers := readerCalls(s, f)
	failed := 0
	for _, name := range sortedKeys(readers) {
		err := readers[name](ctx)
		if err == nil {
			continue
		}
		failed++
		assert.ErrorContains(t, err, "cannot open sealed value", name)
		assert.Regexp(t, `open [a-z_]+\.[a-z_]+: `, err.Error(), "%s: the error names the column", name)
		assert.NotErrorIs(t, err, ErrNotFound, name)
	}
	assert.Greater(t, failed, 15, "the readers of personal data open sealed values")
}

// failingWritesChangeNothing makes every change to table of file fail, on
// a fresh copy of src, and runs the writers named (nil: all): each either
// succeeds (it did not write the table), stops at its own rule as in the
// control of TestRefusedWritesAreReportedAndChangeNothing, or fails with
// the injected cause having committed nothing, however far it got.
func failingWritesChangeNothing(t *testing.T, src string, key []byte, f writeFixture, file, table string, names []string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	copyTree(t, src, dir)
	var stmts []string
	for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
		stmts = append(stmts, "CREATE TRIGGER injected_"+strings.ToLower(op)+" BEFORE "+op+" ON "+table+
			" BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
	}
	execFile(t, filepath.Join(dir, file), stmts...)
	s, err := Open(ctx, Options{Dir: dir, MasterKey: key})
	if err != nil {
		assert.ErrorContains(t, err, "injected failure")
		return
	}
	defer func() { assert.NoError(t, s.Close()) }()
	mainWatch, keysWatch := watch(t, filepath.Join(dir, MainDBFile)), watch(t, filepath.Join(dir, KeysDBFile))
	// A connection of its own on each file sees, through data_version,
	// whether any other connection committed in the meantime.
	versions := func() [2]int {
		var v [2]int
		for i, w := range []*sql.DB{mainWatch, keysWatch} {
			require.NoError(t, w.QueryRow("PRAGMA data_version").Scan(&v[i]))
		}
		return v
	}
	calls := writerCalls(s, f)
	if names == nil {
		names = sortedKeys(calls)
	}
	for _, name := range names {
		before := versions()
		err := calls[name](ctx)
		if err == nil || errors.Is(err, writerRules[name]) {
			continue
		}
		assert.ErrorContains(t, err, "injected failure", name)
		after := versions()
		switch multiStepWriters[name] {
		case "":
			assert.Equal(t, before, after, "%s committed a change before failing", name)
		case "keys":
			assert.Equal(t, before[0], after[0], "%s committed a change to kelas.db before failing", name)
		}
	}
}

// watch opens one connection of its own on the database file at path.
func watch(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	t.Cleanup(func() { db.Close() })
	return db
}

// multiStepWriters commit in more than one transaction by design, so a
// failure part-way leaves the steps before it done: "keys" where only a
// data key made first in keys.db may stay (it seals nothing), "all" where
// either database may have changed.
var multiStepWriters = map[string]string{
	"Purge": "all", // each category is purged, and its run logged, on its own
	// The rows go in one transaction on kelas.db, then the key is
	// destroyed in keys.db; the tombstone makes ApplyTombstones finish it.
	"EraseUser":  "all",
	"CreateUser": "keys",
}
