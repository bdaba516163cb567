package app

import (
	"context"

	"kelas/store"
	"kelas/views"
)

// startMassMailing records a mailing and starts it in the background.
func (a *App) startMassMailing(ctx context.Context, kind, refID, createdBy string, params map[string][]string) (store.MassMailing, error) {
	m, err := a.store.CreateMassMailing(ctx, kind, refID, createdBy, params)
	if err != nil {
		return m, err
	}
	a.bg.Mailing(m)
	return m, nil
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
