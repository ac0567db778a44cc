package hub

import (
	"errors"

	"github.com/watchword/watchword/console/server/hub/store"
)

// reauthorize reads the calling admin again and checks it against the access class a once more. A request held
// open (a long poll) was authorized when it arrived; it answers with the access the admin has when it answers: an
// admin removed meanwhile is a stranger, one whose role or organization changed gets what the new one allows.
func (h *Hub) reauthorize(r *request, a access) error {
	err := h.st.Read(r.Context(), func(tx store.Tx) error {
		ad, err := tx.AdminByKey(r.tenant.ID, r.keyID)
		if err == nil {
			r.who.admin = ad
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errUnknown
	}
	if err != nil {
		return err
	}
	return checkRole(a, r.who.admin)
}
