package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"

	"kelas/store"
	"kelas/views"
)

// massBatch is how many people a mailing handles per transaction; progress
// is recorded after each batch.
const massBatch = 500

// massRunner runs mass mailings in the background of this process: the
// request that starts one records it and returns; the mailing job resumes
// any still running after a restart.
type massRunner struct {
	ctx     context.Context // ends when the app closes: a run stops between batches
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]bool
}

func newMassRunner() *massRunner {
	ctx, stop := context.WithCancel(context.Background())
	return &massRunner{ctx: ctx, stop: stop, running: map[string]bool{}}
}

// close stops the runs between batches and waits for them.
func (m *massRunner) close() {
	m.stop()
	m.wg.Wait()
}

// wait waits for the runs in progress (tests).
func (m *massRunner) wait() { m.wg.Wait() }

// startMassMailing records a mailing and starts it in the background.
func (a *App) startMassMailing(ctx context.Context, kind, refID, createdBy string, params map[string][]string) (store.MassMailing, error) {
	m, err := a.store.CreateMassMailing(ctx, kind, refID, createdBy, params)
	if err != nil {
		return m, err
	}
	a.kickMassMailing(m)
	return m, nil
}

// kickMassMailing runs m in the background unless this process runs it
// already.
func (a *App) kickMassMailing(m store.MassMailing) {
	r := a.mass
	r.mu.Lock()
	if r.running[m.ID] || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.running[m.ID] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, m.ID)
			r.mu.Unlock()
		}()
		if err := a.runMass(r.ctx, m); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("mass mailing", "mailing_id", m.ID, "kind", m.Kind, "err", err)
		}
	}()
}

// runMassMailings is the scheduler's job: every mailing still running
// (after a restart, say) is resumed; the claims make resuming safe.
func (a *App) runMassMailings(ctx context.Context) error {
	ms, err := a.store.RunningMassMailings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		a.kickMassMailing(m)
	}
	a.mass.wait()
	return nil
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
		if n > 0 && a.mailer != nil {
			select {
			case a.mailWake <- struct{}{}:
			default:
			}
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
