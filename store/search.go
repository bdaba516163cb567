package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"kelas/store/crypt"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Learner search, for operators (/console/learners).
//
// Names and email addresses are sealed with each person's own key, so SQL
// cannot search them, and opening every account for each search costs about
// 40 µs a person: seconds at 100,000 learners. The search therefore selects
// candidates through two blind indexes, keyed with the keyring's
// blind-index key, and opens only those:
//
//   - A query with an "@" is an email address. It is matched exactly through
//     users.email_index, the index login uses, so it adds nothing to what the
//     database already holds. There is no search by part of an address: an
//     index for that would describe every address far more closely.
//
//   - Any other query is a name: each of its words must be a whole word of
//     the person's first name or surname, ignoring case, accents and Unicode
//     form ("jose" finds "José García-López"). Each distinct word of a name is
//     stored in name_tags as a 16-bit tag, the first two bytes of
//     HMAC-SHA256(blind-index key, "users.name_word" || word), and every
//     account gets a multiple of nameTagsPerAccount tags, filled up with
//     random ones.
//
// What the tags give away to someone who holds kelas.db but not the master
// key: not the words (a tag is shared by many different words once a portal
// has a few thousand people, and the key is needed to compute one), nor how
// many words a name has (up to four words, every account has four tags);
// but accounts whose names share a word share a tag, so a tag held by an
// unusually large group hints at a common name. That is what any index able
// to find a name without opening every account must reveal. Prefixes,
// substrings or trigrams would let operators type fragments, but each would
// add tags per word that give away word lengths and shared fragments, so
// they are left out: an operator who knows only part of a name asks for
// the email address or a whole word.
//
// Tags only choose candidates. Each candidate is opened and its name checked
// against the query before it is listed, so a collision (two words, one
// tag) costs one more account opened, never a wrong result. At most
// searchMaxOpen candidates are opened per search, which bounds its cost
// even for a word whose tag is shared by thousands of accounts; the newest
// matches come first.

func searchTables() []table {
	return []table{{db: DBMain, name: "name_tags", columns: []string{"tag", "user_id"},
		base: Field{Category: CatAccount, Personal: true, Purposes: []string{"let operators find a learner by name"},
			Basis: BasisLegitimate, Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete,
			Why: "16-bit keyed hashes of the words of the name, which the export holds in full"}}}
}

const (
	nameTagsPerAccount = 4
	searchMaxOpen      = 2000
)

// foldName removes accents after Unicode decomposition and recomposes (the
// caller lower-cases): the form in which name words are compared and
// tagged. A chain keeps state between calls, so each use makes its own.
func foldName() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// nameWords returns the distinct words of a name (or query), folded.
func nameWords(name string) []string {
	folded, _, err := transform.String(foldName(), name)
	if err != nil {
		folded = norm.NFC.String(name)
	}
	words := strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	slices.Sort(words)
	return slices.Compact(words)
}

func nameTag(kr *crypt.Keyring, word string) int64 {
	return int64(binary.BigEndian.Uint16(kr.BlindIndex("users.name_word", word)))
}

// nameTags are the tags stored for a person's name: one per word, then
// random ones up to a multiple of nameTagsPerAccount.
func nameTags(kr *crypt.Keyring, first, surname string) []int64 {
	var tags []int64
	for _, w := range nameWords(first + " " + surname) {
		if t := nameTag(kr, w); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	for len(tags) == 0 || len(tags)%nameTagsPerAccount != 0 {
		var b [2]byte
		rand.Read(b[:])
		if t := int64(binary.BigEndian.Uint16(b[:])); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// rekeyNameTags recomputes every account's name tags under newKr, opening
// names with the data keys in dks (master key rotation). A name nobody can
// open any more gets random tags.
func rekeyNameTags(ctx context.Context, tx *sql.Tx, dks map[string][]byte, newKr *crypt.Keyring) error {
	type name struct{ id, first, surname string }
	rows, err := tx.QueryContext(ctx, "SELECT id, first_name, surname FROM users")
	if err != nil {
		return fmt.Errorf("name tags: %w", err)
	}
	var names []name
	for rows.Next() {
		var id string
		var first, surname []byte
		if err := rows.Scan(&id, &first, &surname); err != nil {
			rows.Close()
			return fmt.Errorf("name tags: %w", err)
		}
		n := name{id: id}
		if dk := dks[id]; dk != nil {
			f, err1 := crypt.Open(dk, "users", "first_name", id, first)
			l, err2 := crypt.Open(dk, "users", "surname", id, surname)
			if err1 == nil && err2 == nil {
				n.first, n.surname = string(f), string(l)
			}
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("name tags: %w", err)
	}
	for _, n := range names {
		if err := setNameTags(ctx, tx, newKr, n.id, n.first, n.surname); err != nil {
			return err
		}
	}
	return nil
}

// setNameTags replaces the tags of userID in tx.
func setNameTags(ctx context.Context, tx *sql.Tx, kr *crypt.Keyring, userID, first, surname string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM name_tags WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("name tags: %w", err)
	}
	for _, t := range nameTags(kr, first, surname) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO name_tags (tag, user_id) VALUES (?, ?)", t, userID); err != nil {
			return fmt.Errorf("name tags: %w", err)
		}
	}
	return nil
}

// tagUntaggedNames gives name tags to accounts that have none: those created
// before name_tags existed. It runs when the store opens.
func (s *Store) tagUntaggedNames(ctx context.Context) error {
	return s.retagNames(ctx, s.kr, "SELECT id, first_name, surname FROM users u WHERE NOT EXISTS (SELECT 1 FROM name_tags t WHERE t.user_id = u.id)")
}

// retagNames (re)computes the name tags of the accounts q selects (id,
// sealed first name, sealed surname) under kr, in batches.
func (s *Store) retagNames(ctx context.Context, kr *crypt.Keyring, q string) error {
	type name struct{ id, first, surname string }
	rows, err := s.rdb.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("store: name tags: %w", err)
	}
	var names []name
	for rows.Next() {
		var id string
		var first, surname []byte
		if err := rows.Scan(&id, &first, &surname); err != nil {
			rows.Close()
			return fmt.Errorf("store: name tags: %w", err)
		}
		z, err := s.sealerFor(ctx, id, "users", id)
		if err != nil {
			rows.Close()
			return fmt.Errorf("store: name tags: %w", err)
		}
		n := name{id: id}
		if n.first, err = z.open("first_name", first); err == nil {
			n.surname, err = z.open("surname", surname)
		}
		if err != nil {
			rows.Close()
			return fmt.Errorf("store: name tags: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: name tags: %w", err)
	}
	for b := range slices.Chunk(names, 500) {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for _, n := range b {
				if err := setNameTags(ctx, tx, kr, n.id, n.first, n.surname); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: name tags: %w", err)
		}
	}
	return nil
}

// SearchLearners finds learners by exact email address or by whole words of
// their name (see above), newest accounts first, at most limit of them. An
// empty query lists the newest learners.
func (s *Store) SearchLearners(ctx context.Context, q string, limit int) ([]LearnerSummary, error) {
	q = strings.TrimSpace(q)
	var (
		cands *sql.Rows
		err   error
		words []string
	)
	switch {
	case q == "":
		cands, err = s.rdb.QueryContext(ctx, "SELECT id FROM users WHERE role = 'learner' ORDER BY created_at DESC, id LIMIT ?", limit)
	case strings.Contains(q, "@"):
		cands, err = s.rdb.QueryContext(ctx, "SELECT id FROM users WHERE email_index = ? AND role = 'learner'", s.emailIndex(q))
	default:
		if words = nameWords(q); len(words) == 0 {
			return nil, nil
		}
		// The accounts holding every word's tag, looked up first (CROSS
		// JOIN keeps that order): reading users first would visit every
		// learner.
		sel := make([]string, len(words))
		args := make([]any, 0, len(words)+1)
		for i, w := range words {
			sel[i] = "SELECT user_id FROM name_tags WHERE tag = ?"
			args = append(args, nameTag(s.kr, w))
		}
		cands, err = s.rdb.QueryContext(ctx, `SELECT u.id FROM (`+strings.Join(sel, " INTERSECT ")+`) AS c
			CROSS JOIN users u ON u.id = c.user_id WHERE u.role = 'learner' ORDER BY u.created_at DESC, u.id LIMIT ?`,
			append(args, searchMaxOpen)...)
	}
	if err != nil {
		return nil, fmt.Errorf("store: search learners: %w", err)
	}
	var ids []string
	for cands.Next() {
		var id string
		if err := cands.Scan(&id); err != nil {
			cands.Close()
			return nil, fmt.Errorf("store: search learners: %w", err)
		}
		ids = append(ids, id)
	}
	cands.Close()
	if err := cands.Err(); err != nil {
		return nil, fmt.Errorf("store: search learners: %w", err)
	}
	out := []LearnerSummary{}
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if words != nil && !hasWords(nameWords(u.FirstName+" "+u.Surname), words) {
			continue // another word with the same tag
		}
		restricted, err := s.Restricted(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, LearnerSummary{ID: id, Name: u.DisplayName(), Email: u.Email,
			Country: u.Country, Restricted: restricted})
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// hasWords reports whether every word of want is in have (both sorted).
func hasWords(have, want []string) bool {
	for _, w := range want {
		if _, ok := slices.BinarySearch(have, w); !ok {
			return false
		}
	}
	return true
}
