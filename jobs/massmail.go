package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"kelas/store"
)

// massBatch is how many people a mailing handles per transaction; progress
// is recorded after each batch.
const massBatch = 500

// massPlan is who a mailing goes to and what each gets.
func (r *Runner) massPlan(ctx context.Context, m store.MassMailing) ([]string, func(store.User) (store.NewMail, error), error) {
	switch m.Kind {
	case store.MassBreachNotice:
		b, err := r.store.Breach(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		ids, err := r.store.BreachAffected(ctx, b)
		return ids, func(u store.User) (store.NewMail, error) { return r.mails.Breach(ctx, b, u) }, err
	case store.MassAnnouncement, store.MassFeedback:
		t, err := r.store.Training(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		if m.Kind == store.MassFeedback {
			ids, err := r.store.FeedbackRecipients(ctx, t.ID)
			return ids, func(u store.User) (store.NewMail, error) { return r.mails.Feedback(ctx, t, u) }, err
		}
		ids, err := r.store.AnnouncementRecipients(ctx, store.AnnouncementFilter{Countries: m.Params["countries"], Industries: m.Params["industries"]})
		return ids, func(u store.User) (store.NewMail, error) { return r.mails.Announcement(ctx, t, u) }, err
	case store.MassPolicyUpdate:
		v, err := r.store.PolicyVersionByLabel(ctx, m.RefID)
		if err != nil {
			return nil, nil, err
		}
		ids, err := r.store.ActiveAccountIDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		_, prev, _, err := r.store.PolicyNotice(ctx)
		if err != nil {
			return nil, nil, err
		}
		base := r.mails.PublicURL()
		link := base + "/privacy/versions/" + v.Version
		if prev != "" && prev != v.Version {
			link = base + "/privacy/versions?from=" + url.QueryEscape(prev) + "&to=" + url.QueryEscape(v.Version) + "#compare"
		}
		return ids, func(u store.User) (store.NewMail, error) { return r.mails.Policy(ctx, v, link, u) }, nil
	}
	return nil, nil, fmt.Errorf("mass mailing: unknown kind %q", m.Kind)
}

// runMass queues a mailing in batches, recording progress after each; it
// stops between batches when ctx ends, leaving the mailing running for the
// next start.
func (r *Runner) runMass(ctx context.Context, m store.MassMailing) error {
	// The plan is read without the run's ctx: a plan half read is no plan.
	ids, build, err := r.massPlan(context.WithoutCancel(ctx), m)
	if err != nil {
		if ferr := r.store.FinishMassMailing(context.WithoutCancel(ctx), m.ID, "the mailing could not be planned"); ferr != nil {
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
			u, err := r.store.User(record, id)
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
		n, err := r.store.QueueMassMails(record, m.Kind, m.RefID, mails)
		if err != nil {
			return err
		}
		queued += n
		if err := r.store.MassMailingProgress(record, m.ID, len(ids), start+len(batch), queued); err != nil {
			return err
		}
		if n > 0 && r.mailer != nil {
			r.WakeOutbox()
		}
	}
	if err := r.store.MassMailingProgress(record, m.ID, len(ids), len(ids), queued); err != nil {
		return err
	}
	r.log.Info("mass mailing done", "mailing_id", m.ID, "kind", m.Kind, "queued", queued)
	return r.store.FinishMassMailing(record, m.ID, "")
}
