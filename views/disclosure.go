package views

import (
	"context"
	"strings"

	"kelas/store"
)

// DisclosureReasons are the codes of the reasons kelas itself records for
// a view of personal data ("@code" or "@code:argument" in the stored
// reason), each written from the catalogue's disclosure.reason.CODE.
var DisclosureReasons = []string{"operator_search", "operator_list", "staff_list", "rights_case", "operator_learner_list", "audit_log"}

// disclosureReason writes a recorded reason: a code kelas recorded in the
// reader's language, a reason a person typed as they typed it.
func disclosureReason(ctx context.Context, reason string) string {
	code, ok := strings.CutPrefix(reason, "@")
	if !ok {
		return reason
	}
	code, arg, _ := strings.Cut(code, ":")
	for _, c := range DisclosureReasons {
		if c == code {
			return t(ctx, "disclosure.reason."+c, "member", arg)
		}
	}
	return reason
}

// disclosureGrant names the access grant a view came under.
func disclosureGrant(ctx context.Context, d store.Disclosure) string {
	if d.GrantTrainings != "" {
		return t(ctx, "disclosure.grant_for", "purpose", d.GrantPurpose, "trainings", d.GrantTrainings)
	}
	return t(ctx, "disclosure.grant", "purpose", d.GrantPurpose)
}

// disclosureUnder says, to the person, which grant a view came under.
func disclosureUnder(ctx context.Context, d store.Disclosure) string {
	return t(ctx, "rights.data.under", "grant", disclosureGrant(ctx, d))
}
