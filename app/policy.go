package app

import (
	"context"

	"kelas/store"
)

// The authorisation policy: every handler asks one of these functions, and
// nothing else decides who may do what. Each takes the acting person (nil
// for a visitor) and the object, and answers from roles, Member staff
// membership and the object's owner only.

// actor is the signed-in person with their Member, if they are staff.
type actor struct {
	user  *store.User
	staff *store.Staff
}

func actorFrom(ctx context.Context) actor {
	a := actor{user: currentUser(ctx)}
	a.staff, _ = ctx.Value(ctxStaff).(*store.Staff)
	return a
}

// isOperator: the platform-wide roles with all-data access.
func (x actor) isOperator() bool { return x.user != nil && x.user.Role.IsOperator() }

// canEditContent: operators who run programmes (operator, backoffice) may
// edit any Member's content; a consultant monitors and does not edit.
func (x actor) canEditContent() bool {
	return x.user != nil && (x.user.Role == store.RoleOperator || x.user.Role == store.RoleBackoffice)
}

// isStaffOf reports whether the actor works for memberID.
func (x actor) isStaffOf(memberID string) bool {
	return x.staff != nil && x.staff.MemberID == memberID
}

// mayManageTrainings: who may open the training management pages at all.
func mayManageTrainings(x actor) bool { return x.canEditContent() || x.staff != nil }

// mayEditTraining: staff of the owning Member and content-editing operators.
func mayEditTraining(x actor, t store.Training) bool {
	return x.canEditContent() || x.isStaffOf(t.MemberID)
}

// mayCreateTrainingFor: staff create for their own Member only.
func mayCreateTrainingFor(x actor, memberID string) bool {
	return x.canEditContent() || x.isStaffOf(memberID)
}

// mayViewTraining: published trainings of active Members are public; drafts
// and a deactivated Member's trainings only to those who may edit them or
// monitor (operators).
func mayViewTraining(x actor, t store.Training) bool {
	return (t.Published && t.MemberActive) || x.isOperator() || x.isStaffOf(t.MemberID)
}

// mayEnrol: verified learners (any signed-in, verified person) in published
// trainings that are not archived.
func mayEnrol(x actor, t store.Training) bool {
	return x.user != nil && x.user.Verified() && t.Published && t.MemberActive && !t.Archived()
}

// mayStudy: the training's materials and quiz are for enrolled people and
// for those who manage it (to preview).
func mayStudy(x actor, t store.Training, enrolled bool) bool {
	return enrolled || mayEditTraining(x, t) || (x.isOperator() && mayViewTraining(x, t))
}

// mayMarkAttendance: marking attendance needs the learner list, so staff
// of the owning Member need an active grant; content operators may always.
func mayMarkAttendance(x actor, t store.Training, activeGrant bool) bool {
	return x.canEditContent() || (x.isStaffOf(t.MemberID) && activeGrant)
}

// mayUseConsole: the console is for operators and Member staff.
func mayUseConsole(x actor) bool { return x.isOperator() || x.staff != nil }

// mayManageMembers: create and edit Member organisations.
func mayManageMembers(x actor) bool { return x.canEditContent() }

// mayViewMember: operators see every Member; staff their own.
func mayViewMember(x actor, memberID string) bool { return x.isOperator() || x.isStaffOf(memberID) }

// mayManageStaffOf: invite, change and remove a Member's staff. Member
// admins manage their own Member's staff; content operators any.
func mayManageStaffOf(x actor, memberID string) bool {
	return x.canEditContent() || (x.isStaffOf(memberID) && x.staff.Role == store.RoleMemberAdmin)
}

// mayManageOperators: only the operator role manages operator accounts.
func mayManageOperators(x actor) bool { return x.user != nil && x.user.Role == store.RoleOperator }

// mayResetTwoFactor: turning off someone else's second factor after a
// lost device is for the operator role, like managing operators.
func mayResetTwoFactor(x actor) bool { return mayManageOperators(x) }

// mayViewOperators: every operator role sees who the operators are.
func mayViewOperators(x actor) bool { return x.isOperator() }

// mayViewOutbox: operators see the outbox (without addresses or bodies).
func mayViewOutbox(x actor) bool { return x.isOperator() }

// mayCreateGrant: grants are given by the platform (operator, backoffice),
// never by a Member to itself.
func mayCreateGrant(x actor) bool { return x.canEditContent() }

// mayViewGrantsOf: operators see all grants; staff their Member's.
func mayViewGrantsOf(x actor, memberID string) bool { return x.isOperator() || x.isStaffOf(memberID) }

// mayViewGrant: operators, the staff of the granting Member and those of
// its recipient (a contractor).
func mayViewGrant(x actor, g store.Grant) bool {
	return mayViewGrantsOf(x, g.MemberID) || (g.RecipientID != "" && x.isStaffOf(g.RecipientID))
}

// mayRevokeGrant: content operators, and the admin of the Member holding it
// or of its recipient (either may give up access early, never extend it).
func mayRevokeGrant(x actor, g store.Grant) bool {
	return x.canEditContent() || (x.staff != nil && x.staff.Role == store.RoleMemberAdmin &&
		(x.isStaffOf(g.MemberID) || g.RecipientID != "" && x.isStaffOf(g.RecipientID)))
}

// learnerAccess says how the actor may see the learners of a training:
// operators always (every view recorded), the owning Member's staff only
// inside an active grant, a contractor's staff inside an active grant the
// owning Member gave their Member, everyone else not at all. activeGrant
// is a grant whose beneficiary is the actor's own Member (grantFor).
type learnerAccess int

const (
	accessNone   learnerAccess = iota
	accessCounts               // numbers only
	accessGrant                // names, under a grant
	accessAll                  // operators
)

func learnerAccessTo(x actor, t store.Training, activeGrant bool) learnerAccess {
	switch {
	case x.isOperator():
		return accessAll
	case x.staff != nil && activeGrant:
		return accessGrant
	case x.isStaffOf(t.MemberID):
		return accessCounts
	}
	return accessNone
}

// maySearchLearners: searching people by name is for operators.
func maySearchLearners(x actor) bool { return x.isOperator() }

// isPrivacyOfficer: an operator-role account with the DPO flag.
func (x actor) isPrivacyOfficer() bool { return x.isOperator() && x.user.DPO }

// mayHandleRights: the privacy officer answers rights requests.
func mayHandleRights(x actor) bool { return x.isPrivacyOfficer() }

// mayManageBreaches: the breach register is the privacy officer's alone.
func mayManageBreaches(x actor) bool { return x.isPrivacyOfficer() }

// mayPublishPolicy: the privacy officer writes, previews and publishes
// privacy-policy versions.
func mayPublishPolicy(x actor) bool { return x.isPrivacyOfficer() }

// mayViewReports: operators (consultants included) see the figures of
// every Member (memberID "") or of any one; Member staff only their own
// Member's.
func mayViewReports(x actor, memberID string) bool {
	return x.isOperator() || (memberID != "" && x.isStaffOf(memberID))
}

// mayAnnounce: announcing a published training (not archived) to the people who opted in
// is for the staff of the owning Member and content operators.
func mayAnnounce(x actor, t store.Training) bool {
	return t.Published && !t.Archived() && mayEditTraining(x, t)
}

// mayRequestFeedback: asking a training's learners for feedback, likewise.
func mayRequestFeedback(x actor, t store.Training) bool { return mayEditTraining(x, t) }

// mayRunOperations: retention rules and holds, backups (which hold all the
// data) and the audit log are for the operator role and the privacy officer.
func mayRunOperations(x actor) bool {
	return x.user != nil && (x.user.Role == store.RoleOperator || x.isPrivacyOfficer())
}

// mayViewAuditNames: the audit log holds ids; operators, who see everyone's
// data, may see the names behind them (each view recorded). Member staff
// never open the audit log: they would see a learner's name only through
// an active grant, which the log is not.
func mayViewAuditNames(x actor) bool { return x.isOperator() }
