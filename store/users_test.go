package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateUserRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	tests := []struct {
		name string
		nu   NewUser
		want func(u *User) // adjusts the expected user built from nu
	}{
		{"all fields", newUser("full"), nil},
		{"optional fields empty", func() NewUser {
			nu := newUser("sparse")
			nu.Company, nu.Gender, nu.Country, nu.Industry = "", "", "", ""
			return nu
		}(), nil},
		{"email normalised", func() NewUser {
			nu := newUser("x")
			nu.Email = "  Mixed.Case@Example.TEST "
			return nu
		}(), func(u *User) { u.Email = "mixed.case@example.test" }},
		{"verified operator with dpo flag and language", func() NewUser {
			nu := newUser("op")
			nu.Role, nu.DPO, nu.Verified, nu.Language = RoleOperator, true, true, "id"
			return nu
		}(), func(u *User) { u.VerifiedAt = clock.Now() }},
	}
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.CreateUser(ctx, tt.nu)
			require.NoError(t, err)
			require.True(t, ValidID(u.ID), u.ID)

			want := User{
				ID: u.ID, Email: tt.nu.Email, FirstName: tt.nu.FirstName, Surname: tt.nu.Surname,
				Company: tt.nu.Company, Gender: tt.nu.Gender, Country: tt.nu.Country, Industry: tt.nu.Industry,
				PasswordHash: tt.nu.PasswordHash, Role: tt.nu.Role, DPO: tt.nu.DPO, Status: "active",
				Language: tt.nu.Language, CreatedAt: clock.Now(),
			}
			if want.Language == "" {
				want.Language = "en"
			}
			want.NameOrder = NameGivenFirst
			if tt.want != nil {
				tt.want(&want)
			}
			assert.Equal(t, want, u)
			assert.Equal(t, tt.nu.Verified, u.Verified())

			got, err := s.User(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestCreateUserStoresEmptyOptionalFieldsAsNull(t *testing.T) {
	s := newTestStore(t)
	nu := newUser("nulls")
	nu.Company, nu.Gender, nu.Country, nu.Industry = "", "", "", ""
	u := createUser(t, s, nu)
	assert.Equal(t, 1, count(t, s.rdb, "users",
		"id = ? AND company IS NULL AND gender IS NULL AND country IS NULL AND industry IS NULL", u.ID))
}

func TestCreateUserRejectsInvalidRole(t *testing.T) {
	s := newTestStore(t)
	for _, role := range []Role{"", "admin", "Operator"} {
		nu := newUser("role")
		nu.Role = role
		_, err := s.CreateUser(context.Background(), nu)
		assert.Error(t, err, "role %q", role)
	}
	assert.Zero(t, count(t, s.rdb, "users"))
	assert.Zero(t, count(t, s.krdb, "data_keys"), "no data key for a refused user")
}

func TestUserByEmailIsCaseInsensitive(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := createUser(t, s, NewUser{Email: "Siti.Nurhaliza@Example.test", FirstName: "Siti", Surname: "N",
		PasswordHash: "h", Role: RoleLearner})
	createUser(t, s, newUser("someoneelse"))

	for _, email := range []string{
		"siti.nurhaliza@example.test",
		"SITI.NURHALIZA@EXAMPLE.TEST",
		"  Siti.Nurhaliza@example.TEST\t",
		"\nsiti.NURHALIZA@Example.Test ",
	} {
		t.Run(email, func(t *testing.T) {
			got, err := s.UserByEmail(ctx, email)
			require.NoError(t, err)
			assert.Equal(t, u.ID, got.ID)
			assert.Equal(t, "siti.nurhaliza@example.test", got.Email)
		})
	}
	t.Run("unknown address", func(t *testing.T) {
		_, err := s.UserByEmail(ctx, "siti.nurhaliza@example.tes")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestCreateUserDuplicateEmailConflicts(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	first := createUser(t, s, newUser("dup"))
	require.Equal(t, 1, count(t, s.krdb, "data_keys"))

	for _, email := range []string{"dup@example.test", "DUP@Example.Test", " dup@EXAMPLE.test "} {
		t.Run(email, func(t *testing.T) {
			nu := newUser("other")
			nu.Email = email
			_, err := s.CreateUser(ctx, nu)
			require.ErrorIs(t, err, ErrConflict)
			assert.Equal(t, 1, count(t, s.rdb, "users"))
			assert.Equal(t, 1, count(t, s.krdb, "data_keys"), "a refused registration must leave no orphan data key")
			assert.Equal(t, 1, count(t, s.krdb, "data_keys", "subject = ?", first.ID))
		})
	}
	got, err := s.User(ctx, first.ID)
	require.NoError(t, err)
	assert.Equal(t, first, got)
}

func TestUserNotFound(t *testing.T) {
	s := newTestStore(t)
	_, err := s.User(context.Background(), NewID())
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.UserByEmail(context.Background(), "nobody@example.test")
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestSealedFieldsBoundToColumnAndRow moves ciphertext inside users the way
// an attacker with write access to the file could: each move must fail to
// open rather than show one person's data as another's.
func TestSealedFieldsBoundToColumnAndRow(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		update string // SQL with ? for the victim's id and ? for the other's id
	}{
		{"value moved to another column", "UPDATE users SET first_name = surname WHERE id = ? AND ? <> ''"},
		{"value copied from another row", "UPDATE users SET surname = (SELECT surname FROM users WHERE id = ?2) WHERE id = ?1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStore(t)
			victim := createUser(t, s, newUser("victim"))
			other := createUser(t, s, newUser("other"))
			res, err := s.db.Exec(tt.update, victim.ID, other.ID)
			require.NoError(t, err)
			require.NoError(t, mustAffect(res))

			_, err = s.User(ctx, victim.ID)
			require.Error(t, err)
			_, err = s.User(ctx, other.ID)
			assert.NoError(t, err)
		})
	}
}

func TestRecordLogin(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("login"))
	assert.True(t, u.LastLoginAt.IsZero())

	clock.Advance(90 * time.Minute)
	require.NoError(t, s.RecordLogin(ctx, u.ID))
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, clock.Now(), got.LastLoginAt)

	assert.ErrorIs(t, s.RecordLogin(ctx, NewID()), ErrNotFound)
}

func TestCountOperators(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	roles := []Role{RoleLearner, RoleMemberStaff, RoleMemberAdmin, RoleOperator, RoleConsultant, RoleBackoffice}
	for i, r := range roles {
		nu := newUser(string(r))
		nu.Role = r
		createUser(t, s, nu)
		n, err := s.CountOperators(ctx)
		require.NoError(t, err)
		want := max(0, i-2) // the first three roles are not operator roles
		assert.Equal(t, want, n, "after adding %s", r)
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		in       string
		valid    bool
		operator bool
	}{
		{"learner", true, false},
		{"member_staff", true, false},
		{"member_admin", true, false},
		{"operator", true, true},
		{"consultant", true, true},
		{"backoffice", true, true},
		{"dpo", false, false},
		{"", false, false},
		{"OPERATOR", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, ok := ParseRole(tt.in)
			assert.Equal(t, tt.valid, ok)
			if ok {
				assert.Equal(t, Role(tt.in), r)
			} else {
				assert.Empty(t, r)
			}
			assert.Equal(t, tt.operator, Role(tt.in).IsOperator())
		})
	}
}

// TestSetConsentsSeesChoicesMadeMeanwhile: SetConsents compares with the
// choices current when it writes, so a choice recorded between its start
// and its write (here: from the clock, read in between) does not make it
// skip the change it was asked for.
func TestSetConsentsSeesChoicesMadeMeanwhile(t *testing.T) {
	var between func()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), func() time.Time {
		if f := between; f != nil {
			between = nil
			f()
		}
		return time.Now()
	})
	ctx := t.Context()
	u := createUser(t, s, newUser("consents"))

	between = func() { require.NoError(t, s.SetConsents(ctx, u.ID, true, true, "profile")) }
	require.NoError(t, s.SetConsents(ctx, u.ID, false, true, "profile"))
	c, err := s.Consents(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, c.NotifyNew, "the later choice (no announcements) was lost")

	between = func() { require.NoError(t, s.SetConsents(ctx, u.ID, false, true, "profile")) }
	require.NoError(t, s.Unsubscribe(ctx, u.ID, ConsentFeedback))
	c, err = s.Consents(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, c.NotifyNew)
	assert.False(t, c.Feedback)
}
