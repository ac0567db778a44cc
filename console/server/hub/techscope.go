package hub

import (
	"errors"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
)

// mayManage says whether the calling admin may act on tech t's two-factor state, lockout or device replacement:
// every admin may; a Co-managed Manager only on the co-managed techs of its own organization (roles.go).
func mayManage(r *request, t *store.Tech) bool {
	if r.who.admin == nil {
		return false
	}
	if org, ok := r.coManager(); ok {
		return t.CoManaged && strings.EqualFold(t.Organization, org)
	}
	return true
}

func joinErrs(errs []error) error { return errors.Join(errs...) }
