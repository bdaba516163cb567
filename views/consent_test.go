package views

import (
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

func render(t *testing.T, p Page) *goquery.Document {
	t.Helper()
	var b strings.Builder
	require.NoError(t, Cookies(p, CookiesForm{Return: "/"}).Render(t.Context(), &b))
	d, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
	require.NoError(t, err)
	return d
}

func TestBannerGivesEqualWeightAndPreTicksNothing(t *testing.T) {
	d := render(t, Page{Consent: PageConsent{Ask: true, Return: "/trainings?q=tax"}})
	banner := d.Find(`[data-testid="consent-banner"]`)
	require.Equal(t, 1, banner.Length())
	accept, reject := banner.Find(`[data-testid="consent-accept"]`), banner.Find(`[data-testid="consent-reject"]`)
	require.Equal(t, 1, accept.Length())
	require.Equal(t, 1, reject.Length())
	for _, attr := range []string{"class", "type", "name"} {
		assert.Equal(t, accept.AttrOr(attr, "a"), reject.AttrOr(attr, "b"), attr)
	}
	assert.Equal(t, "accept_all", accept.AttrOr("value", ""))
	assert.Equal(t, "reject_all", reject.AttrOr("value", ""))
	assert.Equal(t, len(accept.Text()), len(reject.Text()), "labels of the same length")
	assert.Equal(t, "/cookies", banner.Find("form").AttrOr("action", ""))
	assert.Equal(t, "post", banner.Find("form").AttrOr("method", ""))
	assert.Equal(t, "/trainings?q=tax", banner.Find(`input[name="return"]`).AttrOr("value", ""))
	assert.Equal(t, "/cookies?return=%2Ftrainings%3Fq%3Dtax", banner.Find(`[data-testid="consent-choose"]`).AttrOr("href", ""))
	assert.Equal(t, 0, d.Find(`input[checked]`).Length(), "nothing pre-ticked on the page")
	assert.Equal(t, 0, d.Find("script").Length(), "no script needed")
	assert.Contains(t, BannerText(), strings.TrimSpace(banner.Find("p").Text()), "the hashed text is the shown text")
	assert.Contains(t, BannerText(), strings.TrimSpace(banner.Find("h2").Text()))
}

func TestNoticeInsteadOfBannerForGPC(t *testing.T) {
	d := render(t, Page{Consent: PageConsent{GPCNotice: true}})
	assert.Equal(t, 0, d.Find(`[data-testid="consent-banner"]`).Length())
	assert.Equal(t, 1, d.Find(`[data-testid="gpc-notice"]`).Length())

	d = render(t, Page{Consent: PageConsent{Preferences: true}})
	assert.Equal(t, 0, d.Find(`[data-testid="consent-banner"], [data-testid="gpc-notice"]`).Length(), "a choice in force: neither")
}

func TestPageConsentAllows(t *testing.T) {
	c := PageConsent{Ask: true, Preferences: true, Statistics: true, Marketing: true}
	assert.True(t, c.Allows(store.CookieNecessary))
	assert.False(t, c.Allows(store.CookiePreferences), "no choice in force: nothing optional")
	c.Ask = false
	assert.True(t, c.Allows(store.CookieMarketing))
	assert.False(t, c.Allows("tracking"), "unknown categories are never allowed")
}

// TestConsentCodesHaveMessages: every way of choosing and every optional
// category, said by a key built from its code, has its message.
func TestConsentCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, h := range consentHows {
		assert.True(t, en.Has("consent.how."+h), h)
	}
	for _, c := range cookieCategories {
		assert.True(t, en.Has("consent.category."+c), c)
	}
}
