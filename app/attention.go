package app

import (
	"context"

	"kelas/doctor"
	"kelas/i18n"
	"kelas/mail"
	"kelas/store"
	"kelas/views"
)

// consoleNav is the console navigation for x, with the counts the privacy
// officer must never miss (requests due or overdue, breaches whose
// 72-hour clock runs) and, for operations, failing jobs. A count that
// cannot be read is left out rather than failing the page.
func (a *App) consoleNav(ctx context.Context, x actor) views.ConsoleNav {
	n := navFor(x)
	if mayHandleRights(x) {
		if _, soon, overdue, err := a.store.CaseCounts(ctx, store.ReminderWindow); err == nil {
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
	return mail.PrivacyAttention(ctx, a.store, a.clock())
}

// countdown is the 72-hour clock of breach b now.
func (a *App) countdown(b store.Breach) views.Countdown {
	return mail.Countdown(b, a.clock())
}

// operationsAttention is what keeps kelas running: backups, scheduled
// jobs and free disk.
func (a *App) operationsAttention(ctx context.Context) ([]views.Attention, error) {
	now := a.clock()
	p := i18n.From(ctx)
	var out []views.Attention
	bs, err := a.store.BackupStatus(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case bs.Failing:
		out = append(out, views.Attention{Label: p.T("attention.ops.backups_failed"), Count: 1, Link: "/console/backups", Level: "alert"})
	case bs.LastGood.ID != "" && now.Sub(bs.LastGood.CreatedAt) > doctor.BackupMaxAge:
		out = append(out, views.Attention{Label: p.T("attention.ops.backups_old"), Count: 1, Link: "/console/backups", Level: "alert"})
	default:
		out = append(out, views.Attention{Label: p.T("attention.ops.backups_failing"), Count: 0, Link: "/console/backups", Level: "ok"})
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
	out = append(out, views.Attention{Label: p.T("attention.ops.jobs_failing"), Count: failing, Level: level})
	if free, total, err := doctor.DiskFree(a.store.Dir()); err == nil {
		level, label := "ok", p.T("attention.ops.disk_free")
		if free < doctor.DiskWarnFree || float64(free) < doctor.DiskWarnFraction*float64(total) || free < 2*uint64(doctor.DBSize(a.store.Dir())) {
			level, label = "warn", p.T("attention.ops.disk_low")
		}
		if free < doctor.DiskFailFree {
			level = "alert"
		}
		out = append(out, views.Attention{Label: label, Count: int(free >> 30), Level: level})
	}
	return out, nil
}
