package store

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
)

//go:embed seed/members.json
var membersSeed []byte

// Member kinds.
var memberKinds = map[string]bool{"government": true, "public-agency": true, "ngo": true, "private": true}

// ValidMemberKind reports whether kind is a known kind of Member.
func ValidMemberKind(kind string) bool { return memberKinds[kind] }

// Member is an organisation that publishes trainings.
type Member struct {
	ID      string
	Name    string
	Country string // "" for regional or international members
	Kind    string
	Active  bool
}

// SeedMembers loads the initial Member list when there are no Members yet.
// Later edits in the console are never overwritten.
func (s *Store) SeedMembers(ctx context.Context) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM members").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: seed members: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	var seed struct {
		Members []struct {
			Country *string `json:"country"`
			Name    string  `json:"name"`
			Kind    string  `json:"kind"`
		} `json:"members"`
	}
	if err := json.Unmarshal(membersSeed, &seed); err != nil {
		return 0, fmt.Errorf("store: seed members: %w", err)
	}
	now := ts(s.Now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, m := range seed.Members {
			country := ""
			if m.Country != nil {
				country = *m.Country
			}
			if !ValidMemberKind(m.Kind) {
				return fmt.Errorf("member %q: unknown kind %q", m.Name, m.Kind)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO members (id, name, country, kind, created_at) VALUES (?, ?, ?, ?, ?)",
				NewID(), m.Name, nullStr(country), m.Kind, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: seed members: %w", err)
	}
	return len(seed.Members), nil
}

// Members lists all Members by country, then name.
func (s *Store) Members(ctx context.Context) ([]Member, error) {
	rows, err := s.readQuery(ctx, "SELECT id, name, COALESCE(country, ''), kind, active FROM members ORDER BY country IS NULL, country, name")
	if err != nil {
		return nil, fmt.Errorf("store: members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Name, &m.Country, &m.Kind, &m.Active); err != nil {
			return nil, fmt.Errorf("store: members: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Member returns one Member.
func (s *Store) Member(ctx context.Context, id string) (Member, error) {
	var m Member
	err := s.readRow(ctx, "SELECT id, name, COALESCE(country, ''), kind, active FROM members WHERE id = ?", id).
		Scan(&m.ID, &m.Name, &m.Country, &m.Kind, &m.Active)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: member: %w", err)
	}
	return m, nil
}

// MemberByName finds a Member by its exact name.
func (s *Store) MemberByName(ctx context.Context, name string) (Member, error) {
	var id string
	err := s.readRow(ctx, "SELECT id FROM members WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("store: member by name: %w", err)
	}
	return s.Member(ctx, id)
}

// Staff is a person's place at a Member.
type Staff struct {
	UserID   string
	MemberID string
	Role     Role // RoleMemberStaff or RoleMemberAdmin
	// MemberActive is false when the Member is deactivated: its staff then
	// lose the console and their grants.
	MemberActive bool
}

// SetStaff makes userID staff (or admin) of memberID. The account's role
// and session epoch change with it, so any session opened under the old
// privileges ends.
func (s *Store) SetStaff(ctx context.Context, userID, memberID string, role Role) error {
	if role != RoleMemberStaff && role != RoleMemberAdmin {
		return fmt.Errorf("store: set staff: invalid role %q", role)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO member_staff (user_id, member_id, role, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET member_id = excluded.member_id, role = excluded.role`,
			userID, memberID, string(role), ts(s.Now()))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, session_epoch = session_epoch + 1 WHERE id = ?", string(role), userID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("store: set staff: %w", err)
	}
	return nil
}

// StaffOf returns where userID works, or ErrNotFound for non-staff.
func (s *Store) StaffOf(ctx context.Context, userID string) (Staff, error) {
	var st Staff
	var role string
	err := s.readRow(ctx, `SELECT s.user_id, s.member_id, s.role, m.active
		FROM member_staff s JOIN members m ON m.id = s.member_id WHERE s.user_id = ?`, userID).
		Scan(&st.UserID, &st.MemberID, &role, &st.MemberActive)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("store: staff: %w", err)
	}
	st.Role = Role(role)
	return st, nil
}

// MemberAdmins counts memberID's admins.
func (s *Store) MemberAdmins(ctx context.Context, memberID string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM member_staff WHERE member_id = ? AND role = 'member_admin'", memberID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: member admins: %w", err)
	}
	return n, nil
}
