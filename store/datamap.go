package store

// The data map (SPEC §2): every column of every table kelas keeps, classified.
// Export, erasure, retention, the record of processing and the privacy notice
// are generated from it, and a test fails when a migration adds a column that
// is not listed here.

// Category groups personal data as the privacy notice describes it.
type Category string

// Categories of the data map. System columns hold no personal data.
const (
	CatRegistration Category = "registration"
	CatProfile      Category = "profile"
	CatAccount      Category = "account"
	CatConsents     Category = "consents"
	CatActivity     Category = "activity_log"
	CatLearning     Category = "learning_records"
	CatVisitorStats Category = "visitor_statistics"
	CatAccessLog    Category = "access_log"
	CatDisclosures  Category = "disclosures"
	CatSecurity     Category = "security"
	CatSystem       Category = "system"
)

// Basis is the lawful basis of processing (GDPR Art. 6).
type Basis string

// Lawful bases used by kelas.
const (
	BasisConsent    Basis = "consent"
	BasisContract   Basis = "contract"
	BasisLegal      Basis = "legal_obligation"
	BasisLegitimate Basis = "legitimate_interests"
	BasisNone       Basis = "" // not personal data
)

// ExportRule says what a portability export does with a column.
type ExportRule string

// Export rules.
const (
	ExportInclude ExportRule = "include"
	ExportOmit    ExportRule = "omit" // with Why: secrets, internal keys
)

// ErasureRule says what erasure does with a column.
type ErasureRule string

// Erasure rules.
const (
	EraseDelete    ErasureRule = "delete"    // the row goes
	EraseAnonymise ErasureRule = "anonymise" // the row stays, unlinked from the person
	EraseKeep      ErasureRule = "keep"      // kept for a stated reason (Why)
	EraseNone      ErasureRule = "none"      // not personal data
)

// DB names which database file a table lives in.
type DB string

// The two database files.
const (
	DBMain DB = "kelas"
	DBKeys DB = "keys"
)

// Field classifies one column.
type Field struct {
	DB        DB
	Table     string
	Column    string
	Category  Category
	Personal  bool
	Encrypted bool
	Purposes  []string
	Basis     Basis
	Retention string
	Export    ExportRule
	Erasure   ErasureRule
	Why       string
	// Plain is the code of the privacy notice's sentence that tells of
	// this column in plain words (datamap_notice.go); personal data only.
	Plain string
}

// table describes the shared classification of a table's columns; columns
// that differ override it.
type table struct {
	db       DB
	name     string
	base     Field
	columns  []string
	sealed   []string         // encrypted columns
	override map[string]Field // columns classified differently from base
}

func (t table) fields() []Field {
	isSealed := map[string]bool{}
	for _, c := range t.sealed {
		isSealed[c] = true
	}
	out := make([]Field, 0, len(t.columns))
	for _, c := range t.columns {
		f := t.base
		if o, ok := t.override[c]; ok {
			f = o
		}
		f.DB, f.Table, f.Column = t.db, t.name, c
		f.Encrypted = isSealed[c]
		out = append(out, f)
	}
	return out
}

var (
	purposeAccount  = []string{"provide the account and the trainings it gives access to"}
	purposeSecurity = []string{"keep accounts secure"}
)

func systemTable(db DB, name string, why string, cols ...string) table {
	return table{db: db, name: name, columns: cols, base: Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: why}}
}

// DataMap returns the classification of every column kelas stores. Each
// feature lists its own tables beside its queries (accountTables in
// accounts.go, ...).
func DataMap() []Field {
	var out []Field
	for _, group := range [][]table{coreTables(), accountTables(), outboxTables(), trainingTables(), consoleTables(), rightsTables(), anonymousTables(), massMailTables(),
		consentTables(), statsTables(), operationsTables(), breachTables(), policyTables(), notifyTables(), exportTables(),
		journalTablesForMap(), twoFactorTables(), searchTables(), settingsTables(), suspensionTables(), legalTables(), undertakingTables()} {
		for _, t := range group {
			out = append(out, t.fields()...)
		}
	}
	tellPlainly(out)
	return out
}

// coreTables are the foundation's tables: users, sessions, setup and keys.
func coreTables() []table {
	return []table{
		{
			db: DBMain, name: "users",
			columns: []string{"id", "email_index", "email", "first_name", "surname", "company", "gender", "country", "industry",
				"password_hash", "role", "dpo", "status", "session_epoch", "language", "created_at", "verified_at", "last_login_at",
				"adult_confirmed_at", "duplicate_notice_at", "time_zone", "name_order"},
			sealed: []string{"email", "first_name", "surname", "company", "gender"},
			base: Field{Category: CatRegistration, Personal: true, Purposes: purposeAccount, Basis: BasisContract,
				Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete},
			override: map[string]Field{
				"id": {Category: CatAccount, Personal: true, Purposes: purposeAccount, Basis: BasisContract,
					Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete},
				"email_index": {Category: CatAccount, Personal: true, Purposes: []string{"find an account by email without storing it in plaintext"},
					Basis: BasisContract, Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete,
					Why: "a keyed hash, meaningless outside kelas"},
				"password_hash": {Category: CatAccount, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
					Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete, Why: "a secret"},
				"role":   accountField(),
				"dpo":    accountField(),
				"status": accountField(),
				"session_epoch": {Category: CatAccount, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
					Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete, Why: "an internal counter"},
				"language":      accountField(),
				"time_zone":     accountField(),
				"name_order":    accountField(),
				"created_at":    accountField(),
				"verified_at":   accountField(),
				"last_login_at": accountField(),
				"duplicate_notice_at": {Category: CatSecurity, Personal: true, Purposes: purposeSecurity, Basis: BasisLegitimate,
					Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete,
					Why: "when the owner was last told of a registration attempt with their address, to tell them at most daily"},
				"adult_confirmed_at": {Category: CatConsents, Personal: true, Purposes: []string{"show the person confirmed being 18 or older"},
					Basis: BasisLegal, Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete},
			},
		},
		{
			db: DBMain, name: "sessions", columns: []string{"token_hash", "data", "expiry"},
			base: Field{Category: CatSecurity, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
				Retention: "until the session expires", Export: ExportOmit, Erasure: EraseDelete,
				Why: "session state holds ids only and ends with the account"},
		},
		systemTable(DBMain, "setup_tokens", "first-run setup links for the first operator",
			"token_hash", "created_at", "expires_at", "used_at"),
		systemTable(DBMain, "schema_migrations", "schema bookkeeping", "version", "name", "applied_at"),
		systemTable(DBKeys, "schema_migrations", "schema bookkeeping", "version", "name", "applied_at"),
		systemTable(DBKeys, "key_check", "fingerprint of the master key", "id", "check_value", "created_at"),
		systemTable(DBKeys, "kek_versions", "key-wrapping key versions", "version", "created_at"),
		systemTable(DBKeys, "audit_head", "the audit log's newest entry and retention anchor, keyed, kept apart from kelas.db",
			"id", "mac_from", "seq", "hash", "pruned_seq", "pruned_hash", "updated_at", "mac"),
		{
			db: DBKeys, name: "data_keys", columns: []string{"subject", "kek_version", "wrapped", "created_at"},
			base: Field{Category: CatSecurity, Personal: true, Purposes: []string{"encrypt the person's data at rest"},
				Basis: BasisLegal, Retention: "while the account exists; destroyed at erasure", Export: ExportOmit,
				Erasure: EraseDelete, Why: "key material; destroying it makes every copy of the person's data unreadable"},
		},
	}
}

// actorField classifies a column holding the id of the staff member or
// operator who did something to a record that is not about them (granted,
// invited, marked, changed): erasure clears it and the record stays.
func actorField(purpose string) Field {
	return Field{Category: CatAccount, Personal: true, Purposes: []string{purpose}, Basis: BasisLegitimate,
		Retention: "while the record exists; cleared when that account is erased", Export: ExportOmit, Erasure: EraseAnonymise,
		Why: "an internal account id on someone else's or the platform's record"}
}

func accountField() Field {
	return Field{Category: CatAccount, Personal: true, Purposes: purposeAccount, Basis: BasisContract,
		Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete}
}
