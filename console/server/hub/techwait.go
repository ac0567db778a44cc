package hub

import (
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// techStatusWait holds a long poll until the calling tech's status differs from the one its device knows. It
// wakes on changes that concern the caller (or every tech) and answers only about the caller, so a pending tech
// learns nothing else.
func (h *Hub) techStatusWait(r *request) (any, error) {
	known := wire.TechStatus(r.URL.Query().Get("status"))
	until, err := h.waitDeadline(r)
	if err != nil {
		return nil, err
	}
	release, err := h.longPoll(r) // flood.go
	if err != nil {
		return nil, err
	}
	defer release()
	// Take the revision before re-reading the tech: a change committed in between then wakes the wait.
	since, _ := h.notify.Current(r.tenant)
	tech := r.who.tech
	reread := func() error {
		return h.st.Read(r.Context(), func(tx store.Tx) error {
			t, err := tx.TechByKey(r.tenant.ID, r.keyID)
			if err == nil {
				tech = t
			}
			return err
		})
	}
	if err := reread(); err != nil {
		return nil, err
	}
	for tech.Status == known {
		rev, changed := h.notify.TechWait(r.Context(), r.tenant, tech.ID, since, until)
		if !changed {
			break
		}
		since = rev
		if err := reread(); err != nil {
			return nil, err
		}
	}
	return techStatus(r.tenant, tech), nil
}
