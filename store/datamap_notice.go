package store

// The privacy notice tells people what kelas keeps about them in plain
// words, never by column name. plainItems groups the data map's personal
// columns into the things the notice names, each told by one sentence in
// the catalogue (notice.item.<code>). Every personal column is in exactly
// one item, and an item's columns share one category and are either all
// sealed or none (TestEveryPersonalColumnIsTold), so a new column cannot
// go untold and each sentence can say truthfully whether it is encrypted.
// Items are listed in the order the notice shows them.
func plainItems() []plainItem {
	return []plainItem{
		// Registration.
		{"name_contact", []string{"users.first_name", "users.surname", "users.email", "users.company", "users.gender"}},
		{"country_industry", []string{"users.country", "users.industry"}},

		// Account.
		{"account", []string{"users.id", "users.role", "users.dpo", "users.status", "users.language", "users.time_zone",
			"users.name_order", "users.created_at", "users.verified_at", "users.last_login_at"}},
		{"password_fingerprints", []string{"users.password_hash", "users.session_epoch", "users.email_index",
			"name_tags.tag", "name_tags.user_id"}},
		{"mail_content", []string{"outbox.recipient", "outbox.subject", "outbox.body_text", "outbox.body_html", "outbox.headers"}},
		{"mail_delivery", []string{"outbox.id", "outbox.user_id", "outbox.kind", "outbox.status", "outbox.attempts",
			"outbox.next_attempt_at", "outbox.last_error", "outbox.created_at", "outbox.sent_at", "outbox.link_expires_at",
			"outbox.link_token_hash", "notifications.id", "notifications.kind", "notifications.ref_id", "notifications.user_id",
			"notifications.outbox_id", "notifications.queued_at"}},
		{"exports", []string{"exports.id", "exports.user_id", "exports.status", "exports.progress", "exports.created_at",
			"exports.ready_at", "exports.expires_at", "exports.size", "exports.sha256", "exports.error"}},
		{"suspension_reason", []string{"suspensions.reason"}},
		{"suspension", []string{"suspensions.user_id", "suspensions.suspended_at", "suspensions.suspended_by"}},
		{"staff", []string{"member_staff.user_id", "member_staff.member_id", "member_staff.role", "member_staff.added_at",
			"undertakings.id", "undertakings.user_id", "undertakings.version", "undertakings.accepted_at",
			"invitations.token_hash", "invitations.id", "invitations.member_id", "invitations.role", "invitations.dpo",
			"invitations.email_index", "invitations.created_at", "invitations.expires_at", "invitations.used_at"}},
		{"invitation_email", []string{"invitations.email"}},
		{"staff_actions", []string{"access_grants.granted_by", "access_grants.revoked_by", "attendance.marked_by",
			"trainings.created_by", "invitations.invited_by", "retention_rules.updated_by", "legal_holds.set_by",
			"legal_holds.released_by", "offsite_target.updated_by", "legal_disclosures.recorded_by", "breaches.recorded_by",
			"breach_events.actor_id"}},
		{"operator_contact", []string{"settings.value"}},

		// Consents and requests.
		{"consents", []string{"users.adult_confirmed_at", "policy_acceptances.id", "policy_acceptances.user_id",
			"policy_acceptances.policy_version", "policy_acceptances.accepted_at", "policy_acceptances.how",
			"policy_declines.id", "policy_declines.user_id", "policy_declines.policy_version", "policy_declines.declined_at",
			"user_consents.id", "user_consents.user_id", "user_consents.purpose", "user_consents.granted", "user_consents.at",
			"user_consents.how"}},
		{"cookie_choices", []string{"consent_records.id", "consent_records.consent_id", "consent_records.user_id",
			"consent_records.created_at", "consent_records.preferences", "consent_records.statistics", "consent_records.marketing",
			"consent_records.how", "consent_records.policy_version", "consent_records.revision"}},
		{"objections", []string{"user_objections.user_id", "user_objections.purpose", "user_objections.objected_at",
			"user_restrictions.user_id", "user_restrictions.restricted_at"}},
		{"rights_requests", []string{"rights_cases.id", "rights_cases.user_id", "rights_cases.kind", "rights_cases.status",
			"rights_cases.received_at", "rights_cases.due_at", "rights_cases.extended", "rights_cases.execute_after",
			"rights_cases.closed_at", "rights_cases.reminder_sent_at", "rights_cases.channel", "rights_cases.recorded_by",
			"rights_case_events.id", "rights_case_events.case_id", "rights_case_events.at", "rights_case_events.actor_id",
			"rights_case_events.status"}},
		{"rights_text", []string{"rights_cases.details", "rights_cases.identity_check", "rights_case_events.note"}},

		// Disclosures.
		{"disclosures", []string{"disclosures.id", "disclosures.subject_id", "disclosures.viewer_id", "disclosures.viewer_role",
			"disclosures.member_id", "disclosures.at", "disclosures.view", "disclosures.grant_id", "disclosures.hidden_until"}},
		{"disclosure_reason", []string{"disclosures.reason"}},
		{"legal_request", []string{"legal_disclosures.requester", "legal_disclosures.disclosed", "legal_disclosures.reference"}},
		{"legal_request_dates", []string{"legal_disclosures.id", "legal_disclosures.user_id", "legal_disclosures.disclosure_id",
			"legal_disclosures.basis", "legal_disclosures.disclosed_on", "legal_disclosures.bar_until", "legal_disclosures.created_at"}},

		// Learning records.
		{"enrolments", []string{"enrolments.user_id", "enrolments.training_id", "enrolments.enrolled_at", "enrolments.completed_at",
			"material_views.user_id", "material_views.material_id", "material_views.first_viewed_at"}},
		{"quizzes", []string{"quiz_attempts.id", "quiz_attempts.user_id", "quiz_attempts.training_id", "quiz_attempts.submitted_at",
			"quiz_attempts.answers", "quiz_attempts.score", "quiz_attempts.passed"}},
		{"attendance_certificates", []string{"attendance.user_id", "attendance.session_id", "attendance.marked_at",
			"certificates.code", "certificates.user_id", "certificates.training_id", "certificates.issued_at"}},
		{"certificate_name", []string{"certificates.holder_name"}},

		// Profile.
		{"profile", []string{"profiles.picture", "profiles.description", "profiles.additional_names", "profiles.interests",
			"profiles.id_number", "profiles.institution", "profiles.department", "profiles.phone", "profiles.mobile", "profiles.address"}},
		{"profile_changes", []string{"profiles.user_id", "profiles.picture_type", "profiles.updated_at"}},

		// Activity log.
		{"activity", []string{"activity_log.id", "activity_log.user_id", "activity_log.training_id", "activity_log.at",
			"activity_log.action", "activity_log.object_type", "activity_log.object_id", "activity_days.training_id",
			"activity_days.day", "activity_days.user_id", "activity_days.n"}},
		{"activity_address", []string{"activity_log.ip", "activity_log.ip_prefix"}},

		// Security.
		{"sessions_links", []string{"sessions.token_hash", "sessions.data", "sessions.expiry", "account_tokens.token_hash",
			"account_tokens.user_id", "account_tokens.purpose", "account_tokens.new_email_index", "account_tokens.created_at",
			"account_tokens.expires_at", "account_tokens.used_at", "email_reverts.token_hash", "email_reverts.user_id",
			"email_reverts.old_email_index", "email_reverts.created_at", "email_reverts.expires_at", "email_reverts.used_at",
			"users.duplicate_notice_at"}},
		{"email_change", []string{"account_tokens.new_email", "email_reverts.old_email"}},
		{"second_factor_secret", []string{"user_totp.secret"}},
		{"second_factor", []string{"user_totp.user_id", "user_totp.created_at", "user_totp.confirmed_at", "user_totp.last_step",
			"recovery_codes.id", "recovery_codes.user_id", "recovery_codes.code_hash", "recovery_codes.used_at"}},
		{"data_key", []string{"data_keys.subject", "data_keys.kek_version", "data_keys.wrapped", "data_keys.created_at"}},
		{"audit", []string{"audit_log.seq", "audit_log.at", "audit_log.actor_id", "audit_log.action", "audit_log.target_type",
			"audit_log.target_id", "audit_log.details", "audit_log.prev_hash", "audit_log.hash"}},
		{"legal_hold_reason", []string{"legal_holds.reason"}},
		{"legal_hold", []string{"legal_holds.id", "legal_holds.user_id", "legal_holds.category", "legal_holds.set_at",
			"legal_holds.released_at"}},
		{"breach_account", []string{"breaches.title", "breaches.description", "breaches.measures", "breaches.advice",
			"breaches.contact", "breaches.summary", "breach_events.note"}},
		{"breach_people", []string{"breach_people.breach_id", "breach_people.user_id", "breach_notifications.id",
			"breach_notifications.breach_id", "breach_notifications.user_id", "breach_notifications.outbox_id",
			"breach_notifications.claimed_at", "breach_notifications.queued_at"}},

		// Visitor statistics.
		{"visitor_counts", []string{"stats_hourly.day", "stats_hourly.hour", "stats_hourly.views", "stats_hourly.visitors",
			"stats_daily.day", "stats_daily.dimension", "stats_daily.value", "stats_daily.views", "stats_daily.visitors"}},

		// Web server access log.
		{"requests", []string{"access_log.id", "access_log.at", "access_log.method", "access_log.route", "access_log.status",
			"access_log.duration_ms", "access_log.browser", "access_log.referrer"}},
		{"request_address", []string{"access_log.ip"}},
	}
}

// plainItem is one thing the notice says it keeps: a sentence code and
// the columns ("table.column") it tells of.
type plainItem struct {
	code    string
	columns []string
}

// PlainItems are the codes of the notice's sentences, in order.
func PlainItems() []string {
	items := plainItems()
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.code
	}
	return out
}

// tellPlainly sets each personal field's Plain from plainItems.
func tellPlainly(fields []Field) {
	code := map[string]string{}
	for _, it := range plainItems() {
		for _, c := range it.columns {
			code[c] = it.code
		}
	}
	for i, f := range fields {
		if f.Personal {
			fields[i].Plain = code[f.Table+"."+f.Column]
		}
	}
}
