package mail

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"kelas/i18n"
	"kelas/views"
)

// TestSignature: a mail is signed with who runs the site and the best way
// to reach someone about one's data: the privacy officer (by name when
// entered), else the controller, else the rights portal.
func TestSignature(t *testing.T) {
	p := i18n.NewPrinter(i18n.Default, nil, "Latihan UKM")
	for _, tt := range []struct {
		name string
		id   views.Identity
		base string
		want []string
	}{
		{"officer by name", views.Identity{Controller: "SME Office", Email: "office@example.org", DPOName: "Dewi", DPOEmail: "dpo@example.org"},
			"https://kelas.example", []string{"Latihan UKM is run by SME Office.",
				"Questions about your personal data? Write to our privacy officer, Dewi, at dpo@example.org."}},
		{"officer's address only", views.Identity{Email: "office@example.org", DPOEmail: "dpo@example.org"}, "",
			[]string{"Latihan UKM", "Questions about your personal data? Write to our privacy officer at dpo@example.org."}},
		{"controller's address", views.Identity{Controller: "SME Office", Email: "office@example.org", DPOName: "Dewi"}, "",
			[]string{"Latihan UKM is run by SME Office.", "Questions about your personal data? Write to office@example.org."}},
		{"nothing entered", views.Identity{}, "https://kelas.example",
			[]string{"Latihan UKM", "Questions about your personal data? Use your rights portal: https://kelas.example/rights"}},
		{"nothing known", views.Identity{}, "", []string{"Latihan UKM"}},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, signature(p, tt.id, tt.base)) })
	}
}
