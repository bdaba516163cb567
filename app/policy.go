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

// mayViewTraining: published trainings are public; drafts only to those who
// may edit them or monitor (operators).
func mayViewTraining(x actor, t store.Training) bool {
	return t.Published || x.isOperator() || x.isStaffOf(t.MemberID)
}

// mayEnrol: verified learners (any signed-in, verified person) in published
// trainings.
func mayEnrol(x actor, t store.Training) bool {
	return x.user != nil && x.user.Verified() && t.Published
}

// mayStudy: the training's materials and quiz are for enrolled people and
// for those who manage it (to preview).
func mayStudy(x actor, t store.Training, enrolled bool) bool {
	return enrolled || mayEditTraining(x, t) || (x.isOperator() && mayViewTraining(x, t))
}

// mayMarkAttendance: staff of the owning Member and content operators. Until
// access grants exist, the learner list this needs is limited to them.
func mayMarkAttendance(x actor, t store.Training) bool { return mayEditTraining(x, t) }
