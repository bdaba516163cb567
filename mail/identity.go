package mail

import (
	"context"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// signatureKey carries, in a mail's context, the lines it is signed with.
type signatureKey struct{}

// In is ctx speaking lang, a recipient's saved language (English when it
// is empty or unknown), for writing and rendering a mail to them, and the
// printer it carries. The site's name (every {site}) and the signature
// come from the settings as they are now: a change in the settings
// applies to the next mail written.
func (c *Composer) In(ctx context.Context, lang string) (context.Context, *i18n.Printer) {
	st, err := c.Store.Settings(ctx)
	if err != nil {
		// The mail still goes, signed with the site's name alone.
		c.Log.Error("mail settings unreadable", "err", err)
		st = store.Settings{Values: map[string]string{store.SettingSiteName: store.SettingDefault(store.SettingSiteName)}}
	}
	if !i18n.Supported(lang) && lang != i18n.Pseudo {
		lang = i18n.Default
	}
	p := i18n.NewPrinter(lang, nil, st.Get(store.SettingSiteName))
	ctx = i18n.With(ctx, p)
	return context.WithValue(ctx, signatureKey{}, signature(p, views.IdentityOf(st), c.PublicURL())), p
}

// signature is how every mail ends, in p's language: who runs the site,
// then where to write about one's personal data (the privacy officer,
// else the controller, else the rights portal at base).
func signature(p *i18n.Printer, id views.Identity, base string) []string {
	lines := []string{p.T("mail.signature")}
	if id.Controller != "" {
		lines[0] = p.T("layout.footer.controller", "name", id.Controller)
	}
	switch {
	case id.DPOEmail != "" && id.DPOName != "":
		lines = append(lines, p.T("identity.mail.dpo_named", "name", id.DPOName, "email", id.DPOEmail))
	case id.DPOEmail != "":
		lines = append(lines, p.T("identity.mail.dpo", "email", id.DPOEmail))
	case id.Email != "":
		lines = append(lines, p.T("identity.mail.contact", "email", id.Email))
	case base != "":
		lines = append(lines, p.T("identity.mail.portal", "url", base+"/rights"))
	}
	return lines
}

// Sign gives body the signature of ctx (see In) unless it has one.
func Sign(ctx context.Context, body views.MailBody) views.MailBody {
	if len(body.Signature) == 0 {
		body.Signature, _ = ctx.Value(signatureKey{}).([]string)
	}
	return body
}
