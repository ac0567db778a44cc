package hub

// Where an approved tech belongs.
//
// Being co-managed decides whether a tech must use two-factor authentication (totp.go), so it is the approving
// admin's decision, not the registrant's: anyone with the invite could leave the organization blank to escape the
// requirement. The organization typed on the form, or named by a CSV reservation, is a suggestion shown in the
// pending list; the approval may carry the decision (wire.ApproveRequest), an organization (co-managed) or MSP
// staff. An approval without one places the tech as the pending list showed it, so existing callers keep working
// and an admin who saw "MSP staff" or an organization there gets just that.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// decodeOptional decodes the body into v like decode, and leaves v alone when the body is empty.
func (r *request) decodeOptional(v any) error {
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	r.Body = io.NopCloser(br)
	return r.decode(v)
}

// placeTech applies an approval's decision to t before techScope checks the result (the co-management switch of
// the organization it lands in, and recording an organization the tech typed). A Co-managed Manager decides only
// for the techs it may see, and only its own organization.
func placeTech(c *change, r *request, t *store.Tech, req wire.ApproveRequest) error {
	if req.MSPStaff && strings.TrimSpace(req.Organization) != "" {
		return wire.Invalid("mspStaff", "choose an organization or MSP staff, not both")
	}
	if !req.MSPStaff && req.Organization == "" {
		return nil // as the pending list shows it
	}
	cm, scoped := r.coManager()
	if scoped && !mayManage(r, t) {
		return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found in organization %q", t.ID, cm)}
	}
	if req.MSPStaff {
		if scoped {
			return wire.Invalid("mspStaff", "a Co-managed Manager approves techs into its own organization %q only", cm)
		}
		t.Organization, t.CoManaged = "", false
		return nil
	}
	name, err := text("organization", req.Organization, true, 100)
	if err != nil {
		return err
	}
	if scoped && !strings.EqualFold(name, cm) {
		return wire.Invalid("organization", "a Co-managed Manager approves techs into its own organization %q only", cm)
	}
	o, err := c.tx.OrgByName(t.TenantID, name)
	switch {
	case err == nil:
		name = o.Name
	case !errors.Is(err, store.ErrNotFound):
		return err
	case !t.CoManaged || !strings.EqualFold(name, t.Organization):
		// The tech's own typed name may be recorded by this approval (techScope); any other must exist already.
		return wire.Invalid("organization", "no organization %q: choose a recorded organization, the one the tech typed, or MSP staff", name)
	}
	t.Organization, t.CoManaged = name, true
	return nil
}
