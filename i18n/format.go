package i18n

import (
	"strconv"
	"strings"
	"time"
)

// dateFormat is how a language writes dates and times (after CLDR's
// long/medium date and short time patterns).
type dateFormat struct {
	months, shortMonths [12]string
	weekdays            [7]string // short names, Sunday first
	// long, short and dayMonth are patterns of {d} {month} {mon} {year}
	// {wd}; clock is {H} {HH} {h} {mm} {ampm}; dateTime joins {date} and
	// {time}.
	long, short, dayMonth, weekdayDay, clock, dateTime string
	am, pm                                             string
	// yearOffset is added to the Gregorian year (543 for the Buddhist era).
	yearOffset int
	// digits replaces 0-9 when the locale writes its own digits.
	digits *[10]string
}

var myanmarDigits = [10]string{"၀", "၁", "၂", "၃", "၄", "၅", "၆", "၇", "၈", "၉"}

var dateFormats = map[string]dateFormat{
	"en": {
		months:      [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		shortMonths: [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		weekdays:    [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd} {d} {mon}",
		clock: "{HH}:{mm}", dateTime: "{date}, {time}",
	},
	"id": {
		months:      [12]string{"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"},
		shortMonths: [12]string{"Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"},
		weekdays:    [7]string{"Min", "Sen", "Sel", "Rab", "Kam", "Jum", "Sab"},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd}, {d} {mon}",
		clock: "{HH}.{mm}", dateTime: "{date} pukul {time}",
	},
	"ms": {
		months:      [12]string{"Januari", "Februari", "Mac", "April", "Mei", "Jun", "Julai", "Ogos", "September", "Oktober", "November", "Disember"},
		shortMonths: [12]string{"Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ogo", "Sep", "Okt", "Nov", "Dis"},
		weekdays:    [7]string{"Ahd", "Isn", "Sel", "Rab", "Kha", "Jum", "Sab"},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd}, {d} {mon}",
		clock: "{h}:{mm} {ampm}", dateTime: "{date}, {time}", am: "PG", pm: "PTG",
	},
	"th": {
		months:      [12]string{"มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม"},
		shortMonths: [12]string{"ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."},
		weekdays:    [7]string{"อา.", "จ.", "อ.", "พ.", "พฤ.", "ศ.", "ส."},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd} {d} {mon}",
		clock: "{HH}:{mm}", dateTime: "{date} {time} น.", yearOffset: 543,
	},
	"vi": {
		months:      [12]string{"tháng 1", "tháng 2", "tháng 3", "tháng 4", "tháng 5", "tháng 6", "tháng 7", "tháng 8", "tháng 9", "tháng 10", "tháng 11", "tháng 12"},
		shortMonths: [12]string{"thg 1", "thg 2", "thg 3", "thg 4", "thg 5", "thg 6", "thg 7", "thg 8", "thg 9", "thg 10", "thg 11", "thg 12"},
		weekdays:    [7]string{"CN", "Th 2", "Th 3", "Th 4", "Th 5", "Th 6", "Th 7"},
		long:        "{d} {month}, {year}", short: "{d} {mon}, {year}", dayMonth: "{d} {month}", weekdayDay: "{wd}, {d} {mon}",
		clock: "{HH}:{mm}", dateTime: "{time} {date}",
	},
	"fil": {
		months:      [12]string{"Enero", "Pebrero", "Marso", "Abril", "Mayo", "Hunyo", "Hulyo", "Agosto", "Setyembre", "Oktubre", "Nobyembre", "Disyembre"},
		shortMonths: [12]string{"Ene", "Peb", "Mar", "Abr", "May", "Hun", "Hul", "Ago", "Set", "Okt", "Nob", "Dis"},
		weekdays:    [7]string{"Lin", "Lun", "Mar", "Miy", "Huw", "Biy", "Sab"},
		long:        "{month} {d}, {year}", short: "{mon} {d}, {year}", dayMonth: "{month} {d}", weekdayDay: "{wd}, {mon} {d}",
		clock: "{h}:{mm} {ampm}", dateTime: "{date}, {time}", am: "AM", pm: "PM",
	},
	"km": {
		months:      [12]string{"មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"},
		shortMonths: [12]string{"មករា", "កុម្ភៈ", "មីនា", "មេសា", "ឧសភា", "មិថុនា", "កក្កដា", "សីហា", "កញ្ញា", "តុលា", "វិច្ឆិកា", "ធ្នូ"},
		weekdays:    [7]string{"អាទិត្យ", "ចន្ទ", "អង្គារ", "ពុធ", "ព្រហស្បតិ៍", "សុក្រ", "សៅរ៍"},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd} {d} {mon}",
		clock: "{HH}:{mm}", dateTime: "{date} នៅ​ម៉ោង {time}",
	},
	"lo": {
		months:      [12]string{"ມັງກອນ", "ກຸມພາ", "ມີນາ", "ເມສາ", "ພຶດສະພາ", "ມິຖຸນາ", "ກໍລະກົດ", "ສິງຫາ", "ກັນຍາ", "ຕຸລາ", "ພະຈິກ", "ທັນວາ"},
		shortMonths: [12]string{"ມ.ກ.", "ກ.ພ.", "ມ.ນ.", "ມ.ສ.", "ພ.ພ.", "ມິ.ຖ.", "ກ.ລ.", "ສ.ຫ.", "ກ.ຍ.", "ຕ.ລ.", "ພ.ຈ.", "ທ.ວ."},
		weekdays:    [7]string{"ອາທິດ", "ຈັນ", "ອັງຄານ", "ພຸດ", "ພະຫັດ", "ສຸກ", "ເສົາ"},
		long:        "{d} {month} {year}", short: "{d} {mon} {year}", dayMonth: "{d} {month}", weekdayDay: "{wd} {d} {mon}",
		clock: "{HH}:{mm}", dateTime: "{date}, {time}",
	},
	"my": {
		months:      [12]string{"ဇန်နဝါရီ", "ဖေဖော်ဝါရီ", "မတ်", "ဧပြီ", "မေ", "ဇွန်", "ဇူလိုင်", "ဩဂုတ်", "စက်တင်ဘာ", "အောက်တိုဘာ", "နိုဝင်ဘာ", "ဒီဇင်ဘာ"},
		shortMonths: [12]string{"ဇန်", "ဖေ", "မတ်", "ဧ", "မေ", "ဇွန်", "ဇူ", "ဩ", "စက်", "အောက်", "နို", "ဒီ"},
		weekdays:    [7]string{"တနင်္ဂနွေ", "တနင်္လာ", "အင်္ဂါ", "ဗုဒ္ဓဟူး", "ကြာသပတေး", "သောကြာ", "စနေ"},
		long:        "{year}၊ {month} {d}", short: "{year}၊ {mon} {d}", dayMonth: "{month} {d}", weekdayDay: "{wd} {mon} {d}",
		clock: "{HH}:{mm}", dateTime: "{date} {time}", digits: &myanmarDigits,
	},
}

// Date writes t's calendar date in full ("2 December 2026"; the Buddhist
// era in Thai: "2 ธันวาคม 2569").
func (l *Locale) Date(t time.Time) string { return l.datePattern(l.dates.long, t) }

// DateShort writes t's date with an abbreviated month ("2 Dec 2026").
func (l *Locale) DateShort(t time.Time) string { return l.datePattern(l.dates.short, t) }

// DayMonth writes t's day and month without the year ("2 December").
func (l *Locale) DayMonth(t time.Time) string { return l.datePattern(l.dates.dayMonth, t) }

// WeekdayDay writes t's weekday, day and short month ("Wed 2 Dec").
func (l *Locale) WeekdayDay(t time.Time) string { return l.datePattern(l.dates.weekdayDay, t) }

// Clock writes t's time of day ("14:30").
func (l *Locale) Clock(t time.Time) string {
	h := t.Hour()
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	ampm := l.dates.am
	if h >= 12 {
		ampm = l.dates.pm
	}
	s := l.dates.clock
	s = strings.ReplaceAll(s, "{HH}", pad2(h))
	s = strings.ReplaceAll(s, "{H}", strconv.Itoa(h))
	s = strings.ReplaceAll(s, "{h}", strconv.Itoa(h12))
	s = strings.ReplaceAll(s, "{mm}", pad2(t.Minute()))
	s = strings.ReplaceAll(s, "{ampm}", ampm)
	return l.localDigits(s)
}

// DateTime writes t's date and time of day ("2 December 2026, 14:30").
func (l *Locale) DateTime(t time.Time) string {
	s := strings.Replace(l.dates.dateTime, "{date}", l.Date(t), 1)
	return strings.Replace(s, "{time}", l.Clock(t), 1)
}

// Year writes t's year in the locale's era ("2569" in Thai).
func (l *Locale) Year(t time.Time) string {
	return l.localDigits(strconv.Itoa(t.Year() + l.dates.yearOffset))
}

// MonthName is the full name of month m.
func (l *Locale) MonthName(m time.Month) string { return l.dates.months[m-1] }

func (l *Locale) datePattern(p string, t time.Time) string {
	var b strings.Builder
	for p != "" {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			break
		}
		b.WriteString(p[:i])
		j := strings.IndexByte(p[i:], '}')
		switch p[i+1 : i+j] {
		case "d":
			b.WriteString(l.localDigits(strconv.Itoa(t.Day())))
		case "month":
			b.WriteString(l.dates.months[t.Month()-1])
		case "mon":
			b.WriteString(l.dates.shortMonths[t.Month()-1])
		case "year":
			b.WriteString(l.Year(t))
		case "wd":
			b.WriteString(l.dates.weekdays[t.Weekday()])
		}
		p = p[i+j+1:]
	}
	return b.String()
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// localDigits replaces ASCII digits with the locale's own.
func (l *Locale) localDigits(s string) string {
	if l.dates.digits == nil {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteString(l.dates.digits[c-'0'])
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}
