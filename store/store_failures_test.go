package store

import (
	"context"
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
		"DestroyDataKey":      func(ctx context.Context) error { return s.DestroyDataKey(ctx, "user:"+id) },
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
