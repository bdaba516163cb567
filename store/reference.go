package store

// Reference lists behind the registration form: country of residence,
// industry and gender. Country and industry codes are stored in plaintext
// (SPEC §2: they feed aggregate statistics), so only codes from these lists
// may reach the database; the names are for display.
//
// The tables are unexported arrays and every accessor returns a fresh copy,
// so no caller can change what another one sees.

// Country is an ISO 3166-1 alpha-2 code with its common English short name.
type Country struct{ Code, Name string }

// aseanCount is how many entries open countryTable: the ten ASEAN members,
// listed first because the portal serves them.
const aseanCount = 10

// countryTable holds all 249 officially assigned ISO 3166-1 alpha-2 codes:
// the ASEAN members first, then the rest in English collation order of the
// name (so "Åland Islands" sits among the A's). The tests check both orders.
var countryTable = [...]Country{
	{"BN", "Brunei Darussalam"},
	{"KH", "Cambodia"},
	{"ID", "Indonesia"},
	{"LA", "Lao People's Democratic Republic"},
	{"MY", "Malaysia"},
	{"MM", "Myanmar"},
	{"PH", "Philippines"},
	{"SG", "Singapore"},
	{"TH", "Thailand"},
	{"VN", "Viet Nam"},
	{"AF", "Afghanistan"},
	{"AX", "Åland Islands"},
	{"AL", "Albania"},
	{"DZ", "Algeria"},
	{"AS", "American Samoa"},
	{"AD", "Andorra"},
	{"AO", "Angola"},
	{"AI", "Anguilla"},
	{"AQ", "Antarctica"},
	{"AG", "Antigua and Barbuda"},
	{"AR", "Argentina"},
	{"AM", "Armenia"},
	{"AW", "Aruba"},
	{"AU", "Australia"},
	{"AT", "Austria"},
	{"AZ", "Azerbaijan"},
	{"BS", "Bahamas"},
	{"BH", "Bahrain"},
	{"BD", "Bangladesh"},
	{"BB", "Barbados"},
	{"BY", "Belarus"},
	{"BE", "Belgium"},
	{"BZ", "Belize"},
	{"BJ", "Benin"},
	{"BM", "Bermuda"},
	{"BT", "Bhutan"},
	{"BO", "Bolivia"},
	{"BQ", "Bonaire, Sint Eustatius and Saba"},
	{"BA", "Bosnia and Herzegovina"},
	{"BW", "Botswana"},
	{"BV", "Bouvet Island"},
	{"BR", "Brazil"},
	{"IO", "British Indian Ocean Territory"},
	{"VG", "British Virgin Islands"},
	{"BG", "Bulgaria"},
	{"BF", "Burkina Faso"},
	{"BI", "Burundi"},
	{"CV", "Cabo Verde"},
	{"CM", "Cameroon"},
	{"CA", "Canada"},
	{"KY", "Cayman Islands"},
	{"CF", "Central African Republic"},
	{"TD", "Chad"},
	{"CL", "Chile"},
	{"CN", "China"},
	{"CX", "Christmas Island"},
	{"CC", "Cocos (Keeling) Islands"},
	{"CO", "Colombia"},
	{"KM", "Comoros"},
	{"CG", "Congo"},
	{"CK", "Cook Islands"},
	{"CR", "Costa Rica"},
	{"CI", "Côte d'Ivoire"},
	{"HR", "Croatia"},
	{"CU", "Cuba"},
	{"CW", "Curaçao"},
	{"CY", "Cyprus"},
	{"CZ", "Czechia"},
	{"CD", "Democratic Republic of the Congo"},
	{"DK", "Denmark"},
	{"DJ", "Djibouti"},
	{"DM", "Dominica"},
	{"DO", "Dominican Republic"},
	{"EC", "Ecuador"},
	{"EG", "Egypt"},
	{"SV", "El Salvador"},
	{"GQ", "Equatorial Guinea"},
	{"ER", "Eritrea"},
	{"EE", "Estonia"},
	{"SZ", "Eswatini"},
	{"ET", "Ethiopia"},
	{"FK", "Falkland Islands"},
	{"FO", "Faroe Islands"},
	{"FJ", "Fiji"},
	{"FI", "Finland"},
	{"FR", "France"},
	{"GF", "French Guiana"},
	{"PF", "French Polynesia"},
	{"TF", "French Southern Territories"},
	{"GA", "Gabon"},
	{"GM", "Gambia"},
	{"GE", "Georgia"},
	{"DE", "Germany"},
	{"GH", "Ghana"},
	{"GI", "Gibraltar"},
	{"GR", "Greece"},
	{"GL", "Greenland"},
	{"GD", "Grenada"},
	{"GP", "Guadeloupe"},
	{"GU", "Guam"},
	{"GT", "Guatemala"},
	{"GG", "Guernsey"},
	{"GN", "Guinea"},
	{"GW", "Guinea-Bissau"},
	{"GY", "Guyana"},
	{"HT", "Haiti"},
	{"HM", "Heard Island and McDonald Islands"},
	{"VA", "Holy See"},
	{"HN", "Honduras"},
	{"HK", "Hong Kong"},
	{"HU", "Hungary"},
	{"IS", "Iceland"},
	{"IN", "India"},
	{"IR", "Iran"},
	{"IQ", "Iraq"},
	{"IE", "Ireland"},
	{"IM", "Isle of Man"},
	{"IL", "Israel"},
	{"IT", "Italy"},
	{"JM", "Jamaica"},
	{"JP", "Japan"},
	{"JE", "Jersey"},
	{"JO", "Jordan"},
	{"KZ", "Kazakhstan"},
	{"KE", "Kenya"},
	{"KI", "Kiribati"},
	{"KW", "Kuwait"},
	{"KG", "Kyrgyzstan"},
	{"LV", "Latvia"},
	{"LB", "Lebanon"},
	{"LS", "Lesotho"},
	{"LR", "Liberia"},
	{"LY", "Libya"},
	{"LI", "Liechtenstein"},
	{"LT", "Lithuania"},
	{"LU", "Luxembourg"},
	{"MO", "Macao"},
	{"MG", "Madagascar"},
	{"MW", "Malawi"},
	{"MV", "Maldives"},
	{"ML", "Mali"},
	{"MT", "Malta"},
	{"MH", "Marshall Islands"},
	{"MQ", "Martinique"},
	{"MR", "Mauritania"},
	{"MU", "Mauritius"},
	{"YT", "Mayotte"},
	{"MX", "Mexico"},
	{"FM", "Micronesia"},
	{"MD", "Moldova"},
	{"MC", "Monaco"},
	{"MN", "Mongolia"},
	{"ME", "Montenegro"},
	{"MS", "Montserrat"},
	{"MA", "Morocco"},
	{"MZ", "Mozambique"},
	{"NA", "Namibia"},
	{"NR", "Nauru"},
	{"NP", "Nepal"},
	{"NL", "Netherlands"},
	{"NC", "New Caledonia"},
	{"NZ", "New Zealand"},
	{"NI", "Nicaragua"},
	{"NE", "Niger"},
	{"NG", "Nigeria"},
	{"NU", "Niue"},
	{"NF", "Norfolk Island"},
	{"KP", "North Korea"},
	{"MK", "North Macedonia"},
	{"MP", "Northern Mariana Islands"},
	{"NO", "Norway"},
	{"OM", "Oman"},
	{"PK", "Pakistan"},
	{"PW", "Palau"},
	{"PS", "Palestine"},
	{"PA", "Panama"},
	{"PG", "Papua New Guinea"},
	{"PY", "Paraguay"},
	{"PE", "Peru"},
	{"PN", "Pitcairn"},
	{"PL", "Poland"},
	{"PT", "Portugal"},
	{"PR", "Puerto Rico"},
	{"QA", "Qatar"},
	{"RE", "Réunion"},
	{"RO", "Romania"},
	{"RU", "Russia"},
	{"RW", "Rwanda"},
	{"BL", "Saint Barthélemy"},
	{"SH", "Saint Helena, Ascension and Tristan da Cunha"},
	{"KN", "Saint Kitts and Nevis"},
	{"LC", "Saint Lucia"},
	{"MF", "Saint Martin (French part)"},
	{"PM", "Saint Pierre and Miquelon"},
	{"VC", "Saint Vincent and the Grenadines"},
	{"WS", "Samoa"},
	{"SM", "San Marino"},
	{"ST", "Sao Tome and Principe"},
	{"SA", "Saudi Arabia"},
	{"SN", "Senegal"},
	{"RS", "Serbia"},
	{"SC", "Seychelles"},
	{"SL", "Sierra Leone"},
	{"SX", "Sint Maarten (Dutch part)"},
	{"SK", "Slovakia"},
	{"SI", "Slovenia"},
	{"SB", "Solomon Islands"},
	{"SO", "Somalia"},
	{"ZA", "South Africa"},
	{"GS", "South Georgia and the South Sandwich Islands"},
	{"KR", "South Korea"},
	{"SS", "South Sudan"},
	{"ES", "Spain"},
	{"LK", "Sri Lanka"},
	{"SD", "Sudan"},
	{"SR", "Suriname"},
	{"SJ", "Svalbard and Jan Mayen"},
	{"SE", "Sweden"},
	{"CH", "Switzerland"},
	{"SY", "Syria"},
	{"TW", "Taiwan"},
	{"TJ", "Tajikistan"},
	{"TZ", "Tanzania"},
	{"TL", "Timor-Leste"},
	{"TG", "Togo"},
	{"TK", "Tokelau"},
	{"TO", "Tonga"},
	{"TT", "Trinidad and Tobago"},
	{"TN", "Tunisia"},
	{"TR", "Türkiye"},
	{"TM", "Turkmenistan"},
	{"TC", "Turks and Caicos Islands"},
	{"TV", "Tuvalu"},
	{"UG", "Uganda"},
	{"UA", "Ukraine"},
	{"AE", "United Arab Emirates"},
	{"GB", "United Kingdom"},
	{"US", "United States"},
	{"UM", "United States Minor Outlying Islands"},
	{"VI", "United States Virgin Islands"},
	{"UY", "Uruguay"},
	{"UZ", "Uzbekistan"},
	{"VU", "Vanuatu"},
	{"VE", "Venezuela"},
	{"WF", "Wallis and Futuna"},
	{"EH", "Western Sahara"},
	{"YE", "Yemen"},
	{"ZM", "Zambia"},
	{"ZW", "Zimbabwe"},
}

// Countries returns every country, ASEAN members first, as a new slice.
func Countries() []Country {
	t := countryTable
	return t[:]
}

// ASEANCountries returns the codes of the ten ASEAN members in display order.
func ASEANCountries() []string {
	codes := make([]string, aseanCount)
	for i, c := range countryTable[:aseanCount] {
		codes[i] = c.Code
	}
	return codes
}

// ValidCountry reports whether code is an assigned alpha-2 code, written
// exactly as stored (upper case).
func ValidCountry(code string) bool {
	return CountryName(code) != ""
}

// CountryName returns the English name for code, or "" when it is unknown.
func CountryName(code string) string {
	for _, c := range countryTable {
		if c.Code == code {
			return c.Name
		}
	}
	return ""
}

// Industry is an ISIC Rev.4 section: a letter and its official title.
type Industry struct{ Code, Name string }

var industryTable = [...]Industry{
	{"A", "Agriculture, forestry and fishing"},
	{"B", "Mining and quarrying"},
	{"C", "Manufacturing"},
	{"D", "Electricity, gas, steam and air conditioning supply"},
	{"E", "Water supply; sewerage, waste management and remediation activities"},
	{"F", "Construction"},
	{"G", "Wholesale and retail trade; repair of motor vehicles and motorcycles"},
	{"H", "Transportation and storage"},
	{"I", "Accommodation and food service activities"},
	{"J", "Information and communication"},
	{"K", "Financial and insurance activities"},
	{"L", "Real estate activities"},
	{"M", "Professional, scientific and technical activities"},
	{"N", "Administrative and support service activities"},
	{"O", "Public administration and defence; compulsory social security"},
	{"P", "Education"},
	{"Q", "Human health and social work activities"},
	{"R", "Arts, entertainment and recreation"},
	{"S", "Other service activities"},
	{"T", "Activities of households as employers; undifferentiated goods- and services-producing activities of households for own use"},
	{"U", "Activities of extraterritorial organizations and bodies"},
}

// Industries returns the ISIC Rev.4 sections A to U as a new slice.
func Industries() []Industry {
	t := industryTable
	return t[:]
}

// ValidIndustry reports whether code is an ISIC Rev.4 section letter (upper case).
func ValidIndustry(code string) bool {
	return IndustryName(code) != ""
}

// IndustryName returns the section title for code, or "" when it is unknown.
func IndustryName(code string) string {
	for _, in := range industryTable {
		if in.Code == code {
			return in.Name
		}
	}
	return ""
}

// Gender is an answer to the optional gender question.
type Gender struct{ Code, Name string }

var genderTable = [...]Gender{
	{"female", "Female"},
	{"male", "Male"},
	{"other", "Another gender"},
	{"undisclosed", "Prefer not to say"},
}

// Genders returns the answers offered on the registration form as a new
// slice. The question is optional: an empty value means "not given" and is
// not one of these.
func Genders() []Gender {
	t := genderTable
	return t[:]
}

// ValidGender reports whether code is one of the offered answers. The empty
// string is not; callers treat it as "not given" before asking.
func ValidGender(code string) bool {
	for _, g := range genderTable {
		if g.Code == code {
			return true
		}
	}
	return false
}

// Language is a language trainings are given in.
type Language struct{ Code, Name string }

// Languages lists the training languages: English and the region's
// national languages (ISO 639-1, "fil" for Filipino).
func Languages() []Language {
	return []Language{
		{"en", "English"}, {"id", "Bahasa Indonesia"}, {"ms", "Bahasa Melayu"}, {"th", "Thai"},
		{"vi", "Vietnamese"}, {"km", "Khmer"}, {"lo", "Lao"}, {"my", "Burmese"}, {"fil", "Filipino"},
		{"zh", "Chinese"}, {"ta", "Tamil"},
	}
}

// ValidLanguage reports whether code is a training language.
func ValidLanguage(code string) bool { return LanguageName(code) != "" }

// LanguageName is the display name of a language code, or "".
func LanguageName(code string) string {
	for _, l := range Languages() {
		if l.Code == code {
			return l.Name
		}
	}
	return ""
}
