-- The compliance journal: every change to the records a restore must not
-- lose (breach register, rights requests and their history, legal holds,
-- policy versions, disclosures, the audit log) is noted here by trigger,
-- inside the transaction that makes it. After the commit the store copies
-- each noted row to DATA/journal.log, outside kelas.db, and removes the note;
-- `kelas restore` re-applies the journal to the restored database (see
-- store/journal.go). A note left by a crash is copied at the next start.
CREATE TABLE journal_pending (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	tbl TEXT NOT NULL,
	op  TEXT NOT NULL CHECK (op IN ('put', 'del')),
	k1  ANY NOT NULL,
	k2  ANY
) STRICT;


CREATE TRIGGER journal_breaches_ins AFTER INSERT ON breaches BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breaches', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breaches_upd AFTER UPDATE ON breaches BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breaches', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breaches_del AFTER DELETE ON breaches BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breaches', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_breach_people_ins AFTER INSERT ON breach_people BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_people', 'put', NEW.breach_id, NEW.user_id);
END;
CREATE TRIGGER journal_breach_people_upd AFTER UPDATE ON breach_people BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_people', 'put', NEW.breach_id, NEW.user_id);
END;
CREATE TRIGGER journal_breach_people_del AFTER DELETE ON breach_people BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_people', 'del', OLD.breach_id, OLD.user_id);
END;

CREATE TRIGGER journal_breach_notifications_ins AFTER INSERT ON breach_notifications BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_notifications', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breach_notifications_upd AFTER UPDATE ON breach_notifications BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_notifications', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_breach_notifications_del AFTER DELETE ON breach_notifications BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('breach_notifications', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_rights_cases_ins AFTER INSERT ON rights_cases BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_cases', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_rights_cases_upd AFTER UPDATE ON rights_cases BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_cases', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_rights_cases_del AFTER DELETE ON rights_cases BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_cases', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_rights_case_events_ins AFTER INSERT ON rights_case_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_case_events', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_rights_case_events_upd AFTER UPDATE ON rights_case_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_case_events', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_rights_case_events_del AFTER DELETE ON rights_case_events BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('rights_case_events', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_legal_holds_ins AFTER INSERT ON legal_holds BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('legal_holds', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_legal_holds_upd AFTER UPDATE ON legal_holds BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('legal_holds', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_legal_holds_del AFTER DELETE ON legal_holds BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('legal_holds', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_policy_versions_ins AFTER INSERT ON policy_versions BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_versions', 'put', NEW.version, NULL);
END;
CREATE TRIGGER journal_policy_versions_upd AFTER UPDATE ON policy_versions BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_versions', 'put', NEW.version, NULL);
END;
CREATE TRIGGER journal_policy_versions_del AFTER DELETE ON policy_versions BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_versions', 'del', OLD.version, NULL);
END;

CREATE TRIGGER journal_policy_drafts_ins AFTER INSERT ON policy_drafts BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_drafts', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_policy_drafts_upd AFTER UPDATE ON policy_drafts BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_drafts', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_policy_drafts_del AFTER DELETE ON policy_drafts BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('policy_drafts', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_disclosures_ins AFTER INSERT ON disclosures BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('disclosures', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_disclosures_upd AFTER UPDATE ON disclosures BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('disclosures', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_disclosures_del AFTER DELETE ON disclosures BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('disclosures', 'del', OLD.id, NULL);
END;

CREATE TRIGGER journal_audit_log_ins AFTER INSERT ON audit_log BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_log', 'put', NEW.seq, NULL);
END;
CREATE TRIGGER journal_audit_log_upd AFTER UPDATE ON audit_log BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_log', 'put', NEW.seq, NULL);
END;
CREATE TRIGGER journal_audit_log_del AFTER DELETE ON audit_log BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_log', 'del', OLD.seq, NULL);
END;

CREATE TRIGGER journal_audit_anchor_ins AFTER INSERT ON audit_anchor BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_anchor', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_audit_anchor_upd AFTER UPDATE ON audit_anchor BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_anchor', 'put', NEW.id, NULL);
END;
CREATE TRIGGER journal_audit_anchor_del AFTER DELETE ON audit_anchor BEGIN
	INSERT INTO journal_pending (tbl, op, k1, k2) VALUES ('audit_anchor', 'del', OLD.id, NULL);
END;
