package app

import (
	"context"
	"sort"
	"strconv"

	"kelas/doctor"
	"kelas/views"
)

// consoleNav is the console navigation for x, with the counts the privacy
// officer must never miss (requests due or overdue, breaches whose
// 72-hour clock runs) and, for operations, failing jobs. A count that
// cannot be read is left out rather than failing the page.
func (a *App) consoleNav(ctx context.Context, x actor) views.ConsoleNav {
	n := navFor(x)
	if mayHandleRights(x) {
		if _, soon, overdue, err := a.store.CaseCounts(ctx, reminderWindow); err == nil {
			n.CasesDue, n.CasesOverdue = soon, overdue
		} else {
			a.log.Error("console nav: case counts", "err", err)
		}
		if b, err := a.store.RunningBreachCount(ctx); err == nil {
			n.BreachClocks = b
		} else {
			a.log.Error("console nav: breaches", "err", err)
		}
	}
	if mayRunOperations(x) {
		if jobs, err := a.store.Jobs(ctx); err == nil {
			for _, j := range jobs {
				if j.LastError != "" {
					n.Failing++
				}
			}
		}
	}
	return n
}

// privacyAttention gathers the privacy officer's deadlines: open requests,
// those due within five days and overdue, and breaches by hours left.
func (a *App) privacyAttention(ctx context.Context) (views.PrivacyAttention, error) {
	now := a.clock()
	var v views.PrivacyAttention
	var err error
	if v.Open, v.DueSoon, v.Overdue, err = a.store.CaseCounts(ctx, reminderWindow); err != nil {
		return v, err
	}
	if v.Cases, err = a.store.CasesDueBy(ctx, now.Add(reminderWindow)); err != nil {
		return v, err
	}
	bs, err := a.store.RunningBreaches(ctx)
	if err != nil {
		return v, err
	}
	for _, b := range bs {
		v.Breaches = append(v.Breaches, views.BreachRow{Breach: b, Countdown: a.countdown(b)})
	}
	sort.SliceStable(v.Breaches, func(i, j int) bool { return v.Breaches[i].Countdown.Remaining < v.Breaches[j].Countdown.Remaining })
	v.Now = now
	return v, nil
}

// operationsAttention is what keeps kelas running: backups, scheduled
// jobs and free disk.
func (a *App) operationsAttention(ctx context.Context) ([]views.Attention, error) {
	now := a.clock()
	var out []views.Attention
	bs, err := a.store.BackupStatus(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case bs.Failing:
		out = append(out, views.Attention{Label: "Backups failing: the last attempt failed", Count: 1, Link: "/console/backups", Level: "alert"})
	case bs.LastGood.ID != "" && now.Sub(bs.LastGood.CreatedAt) > doctor.BackupMaxAge:
		out = append(out, views.Attention{Label: "Backups: the last good one is older than a day", Count: 1, Link: "/console/backups", Level: "alert"})
	default:
		out = append(out, views.Attention{Label: "Backups failing", Count: 0, Link: "/console/backups", Level: "ok"})
	}
	jobs, err := a.store.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	failing := 0
	for _, j := range jobs {
		if j.LastError != "" {
			failing++
		}
	}
	level := "ok"
	if failing > 0 {
		level = "alert"
	}
	out = append(out, views.Attention{Label: "Scheduled jobs failing", Count: failing, Level: level})
	if free, total, err := doctor.DiskFree(a.store.Dir()); err == nil {
		level, label := "ok", "GiB free on the data disk"
		if free < doctor.DiskWarnFree || float64(free) < doctor.DiskWarnFraction*float64(total) || free < 2*uint64(doctor.DBSize(a.store.Dir())) {
			level, label = "warn", "GiB free on the data disk: low, backups need room for a copy of the database"
		}
		if free < doctor.DiskFailFree {
			level = "alert"
		}
		out = append(out, views.Attention{Label: label, Count: int(free >> 30), Level: level})
	}
	return out, nil
}

// runAttentionDigest mails each privacy officer, once a day, every request
// overdue or due within five days and every breach whose 72-hour clock
// still runs. Nothing to report, no mail.
func (a *App) runAttentionDigest(ctx context.Context) error {
	v, err := a.privacyAttention(ctx)
	if err != nil || (len(v.Cases) == 0 && len(v.Breaches) == 0) {
		return err
	}
	dpos, err := a.store.DPOs(ctx)
	if err != nil {
		return err
	}
	var paras []string
	for _, c := range v.Cases {
		state := "due " + c.DueAt.Format("2 January 2006")
		if c.Overdue(v.Now) {
			state = "OVERDUE since " + c.DueAt.Format("2 January 2006")
		}
		paras = append(paras, "Request ("+views.CaseKindLabel(c.Kind)+"), "+state+": "+a.cfg.PublicURL()+"/console/rights/"+c.ID)
	}
	for _, b := range v.Breaches {
		// The title is a label kept free of names (the form says so).
		paras = append(paras, "Breach \""+b.Breach.Title+"\": "+b.Countdown.Text()+" "+a.cfg.PublicURL()+"/console/breaches/"+b.Breach.ID)
	}
	subject := "kelas: " + strconv.Itoa(len(v.Cases)) + " requests and " + strconv.Itoa(len(v.Breaches)) + " breaches need you"
	for _, d := range dpos {
		if err := a.accountMail(ctx, d.ID, d.Email, "attention_digest", subject, views.MailBody{
			Greeting:    "Hello " + d.FirstName + ",",
			Paragraphs:  append([]string{"These deadlines need you (" + v.Now.UTC().Format("2 January 2006, 15:04") + " UTC):"}, paras...),
			ActionLabel: "Open the console", ActionURL: a.cfg.PublicURL() + "/console",
		}); err != nil {
			return err
		}
	}
	a.log.Info("attention digest", "cases", len(v.Cases), "breaches", len(v.Breaches), "officers", len(dpos))
	return nil
}
