package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErasureLeavesNoReference fills every kind of record a person can
// have, erases them, and then searches every column of every table for
// their id. Only columns the data map says are kept on purpose (EraseKeep,
// with a reason) may still hold it: a table the erasure ignores fails here.
func TestErasureLeavesNoReference(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	u, err := s.CreateUser(ctx, NewUser{Email: "gone@example.org", FirstName: "G", Surname: "One", PasswordHash: "x", Role: RoleLearner,
		Country: "MY", Industry: "C", AcceptedPolicy: "2023-10-09", NotifyNew: true, Feedback: true})
	require.NoError(t, err)
	staff, err := s.CreateUser(ctx, NewUser{Email: "staff@example.org", FirstName: "S", Surname: "T", PasswordHash: "x", Role: RoleLearner})
	require.NoError(t, err)
	require.NoError(t, s.SetStaff(ctx, staff.ID, m.ID, RoleMemberStaff))

	tr, err := s.CreateTraining(ctx, m.ID, staff.ID, TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindLive, PassMark: 0, Published: true})
	require.NoError(t, err)
	se, err := s.AddSession(ctx, tr.ID, s.Now(), s.Now().Add(time.Hour))
	require.NoError(t, err)
	q, err := s.AddQuestion(ctx, tr.ID, "Q?", []Choice{{Label: "a", Correct: true}, {Label: "b"}})
	require.NoError(t, err)
	page, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: MaterialPage, Title: "P", BodyMD: "x", Required: true})
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, u.ID, tr.ID))
	require.NoError(t, s.RecordMaterialView(ctx, u.ID, page.ID))
	_, err = s.SubmitQuiz(ctx, u.ID, tr, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	require.NoError(t, s.MarkAttendance(ctx, se.ID, u.ID, staff.ID))
	_, err = s.CompleteIfDone(ctx, u.ID, tr.ID)
	require.NoError(t, err)
	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, TrainingID: tr.ID, Action: ActViewTraining, At: s.Now(), IP: netip.MustParseAddr("203.0.113.5")}}))
	require.NoError(t, s.UpdateProfile(ctx, u.ID, Details{FirstName: "G", Surname: "One", Country: "MY", Industry: "C"},
		Profile{Phone: "+60 3 1234 5678", Picture: []byte("img"), PictureType: "image/png"}, PictureReplace))
	_, err = s.CreateAccountToken(ctx, u.ID, TokenVerify, time.Hour, "new@example.org")
	require.NoError(t, err)
	_, err = s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: "gone@example.org", Kind: "verify", Subject: "s", Text: "t"})
	require.NoError(t, err)
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: staff.ID, ViewerRole: string(RoleMemberStaff), View: ViewLearnerRecord, Reason: "why"}, u.ID))
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: u.ID, ViewerRole: string(RoleLearner), View: ViewLearnerList}, staff.ID))
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, true))
	require.NoError(t, s.SetRestricted(ctx, u.ID, true))
	_, err = s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseErasure, Details: "please"})
	require.NoError(t, err)
	_, err = s.CreateExport(ctx, u.ID)
	require.NoError(t, err)

	require.NoError(t, s.EraseUser(ctx, "test", u.ID))

	found := 0
	for col, n := range idOccurrences(t, s, u.ID) {
		if !erasedIDAllowed[col] {
			t.Errorf("%s still holds the erased person's id in %d row(s)", col, n)
		}
		found += n
	}
	assert.Positive(t, found, "control: the kept case still names the person, so the search does look")
}
