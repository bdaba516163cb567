package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"kelas/store"
	"kelas/views"
)

// massBatch is how many people a mailing handles per transaction; progress
// is recorded after each batch.
const massBatch = 500

// startMassMailing records a mailing and starts it in the background.
func (a *App) startMassMailing(ctx context.Context, kind, refID, createdBy string, params map[string][]string) (store.MassMailing, error) {
	m, err := a.store.CreateMassMailing(ctx, kind, refID, createdBy, params)
	if err != nil {
		return m, err
	}
	a.bg.Mailing(m)
	return m, nil
}

// massPlan is who a mailing goes to and what each gets.
func (a *App) massPlan(ctx context.Context, m store.MassMailing) ([]string, func(store.User) (store.NewMail, error), error) {
	switch m.Kind {
	case store.MassBreachNotice:
		b, err := a.store.Breach(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		ids, err := a.store.BreachAffected(ctx, b)
		return ids, func(u store.User) (store.NewMail, error) { return a.breachMail(ctx, b, u) }, err
	case store.MassAnnouncement, store.MassFeedback:
		t, err := a.store.Training(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		if m.Kind == store.MassFeedback {
			ids, err := a.store.FeedbackRecipients(ctx, t.ID)
			return ids, func(u store.User) (store.NewMail, error) { return a.feedbackMail(ctx, t, u) }, err
		}
		ids, err := a.store.AnnouncementRecipients(ctx, store.AnnouncementFilter{Countries: m.Params["countries"], Industries: m.Params["industries"]})
		return ids, func(u store.User) (store.NewMail, error) { return a.announcementMail(ctx, t, u) }, err
	case store.MassPolicyUpdate:
		v, err := a.store.PolicyVersionByLabel(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		ids, err := a.store.ActiveAccountIDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		_, prev, _, err := a.store.PolicyNotice(ctx)
		if err != nil {
			return nil, nil, err
		}
		link := a.cfg.PublicURL() + "/privacy/versions/" + v.Version
		if prev != "" && prev != v.Version {
			link = a.cfg.PublicURL() + "/privacy/versions?from=" + url.QueryEscape(prev) + "&to=" + url.QueryEscape(v.Version) + "#compare"
		}
		return ids, func(u store.User) (store.NewMail, error) { return a.policyMail(ctx, v, link, u) }, nil
	}
	return nil, nil, fmt.Errorf("mass mailing: unknown kind %q", m.Kind)
}

// runMass queues a mailing in batches, recording progress after each; it
// stops between batches when ctx ends, leaving the mailing running for the
// next start.
func (a *App) runMass(ctx context.Context, m store.MassMailing) error {
	// The plan is read without the run's ctx: a plan half read is no plan.
	ids, build, err := a.massPlan(context.WithoutCancel(ctx), m)
	if err != nil {
		if ferr := a.store.FinishMassMailing(context.WithoutCancel(ctx), m.ID, "the mailing could not be planned"); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return err
	}
	queued := m.Queued
	record := context.WithoutCancel(ctx)
	for start := 0; start < len(ids); start += massBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := ids[start:min(start+massBatch, len(ids))]
		var mails []store.NewMail
		for _, id := range batch {
			u, err := a.store.User(record, id)
			if errors.Is(err, store.ErrNotFound) {
				continue // erased meanwhile
			}
			if err != nil {
				return err
			}
			nm, err := build(u)
			if err != nil {
				return err
			}
			mails = append(mails, nm)
		}
		n, err := a.store.QueueMassMails(record, m.Kind, m.RefID, mails)
		if err != nil {
			return err
		}
		queued += n
		if err := a.store.MassMailingProgress(record, m.ID, len(ids), start+len(batch), queued); err != nil {
			return err
		}
		if n > 0 && a.mailOn {
			a.bg.WakeOutbox()
		}
	}
	if err := a.store.MassMailingProgress(record, m.ID, len(ids), len(ids), queued); err != nil {
		return err
	}
	a.log.Info("mass mailing done", "mailing_id", m.ID, "kind", m.Kind, "queued", queued)
	return a.store.FinishMassMailing(record, m.ID, "")
}

// massProgress is what the console shows of the mailings about refID.
func (a *App) massProgress(ctx context.Context, kind, refID string) (*views.MassProgress, error) {
	ms, err := a.store.MassMailingsFor(ctx, kind, refID)
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	p := &views.MassProgress{Latest: ms[len(ms)-1]}
	if p.Sent, p.Waiting, p.Failed, err = a.store.MassDelivery(ctx, kind, refID); err != nil {
		return nil, err
	}
	return p, nil
}
