package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// protocolError is a request in a protocol version the hub does not speak. A client that sends an older version
// than the hub's is refused rather than served in a weaker dialect: there is no downgrade.
type protocolError struct{ version string }

func errProtocol(v string) error { return &protocolError{version: v} }

func (e *protocolError) Error() string {
	return fmt.Sprintf("protocol version %q not supported (hub speaks %d)", e.version, wire.ProtocolVersion)
}

// As lets asWire turn it into the bad_request a client sees.
func (e *protocolError) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = &wire.Error{Code: wire.CodeBadRequest, Field: wire.HeaderProtocol, Message: e.Error()}
		return true
	}
	return false
}

// capabilityError is a request from a client older than wire.MinCapabilityVersion, or whose capability header is
// not a number: the hub's routes assume what such a client cannot do.
type capabilityError struct{ version string }

func (e *capabilityError) Error() string {
	return fmt.Sprintf("capability version %q not supported: the hub serves clients of capability %d or later (it has %d); update the client",
		e.version, wire.MinCapabilityVersion, wire.CapabilityVersion)
}

// As lets asWire turn it into the bad_request a client sees.
func (e *capabilityError) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = &wire.Error{Code: wire.CodeBadRequest, Field: wire.HeaderCapability, Message: e.Error()}
		return true
	}
	return false
}

// checkVersions refuses a request in another major protocol version than the hub's, or from a client older than
// wire.MinCapabilityVersion. A header that is absent says nothing (the client predates it); one that is present
// must be a decimal number.
func checkVersions(hdr http.Header) error {
	if v := hdr.Get(wire.HeaderProtocol); v != "" {
		if n, ok := parseVersion(v); !ok || n != wire.ProtocolVersion {
			return errProtocol(v)
		}
	}
	if vs := hdr.Values(wire.HeaderCapability); len(vs) > 0 {
		if n, ok := parseVersion(vs[0]); !ok || len(vs) > 1 || n < wire.MinCapabilityVersion {
			return &capabilityError{version: strings.Join(vs, ", ")}
		}
	}
	return nil
}

// parseVersion reads a version header: decimal digits only (no sign, no fraction).
func parseVersion(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// refusalBurst and refusalEvery bound the audit events that refusals can write per client address and tenant:
// a caller with many keys must not be able to flood the audit log. Refusals beyond the bound are still logged.
const (
	refusalBurst = 20
	refusalEvery = 30 * time.Second
)

// refusal names a refused request worth an audit event, or returns "" for ordinary bad input. Worth auditing is
// what an impostor, a replay or a removed principal produces: an unknown key in a known tenant, a principal that
// is no longer active, a token that is unknown or used, a username or key that is already registered, another
// agent's account, an unsupported protocol or capability version.
func refusal(rt route, r *request, err error) string {
	if _, ok := err.(*protocolError); ok {
		return "protocol"
	}
	if _, ok := err.(*capabilityError); ok {
		return "capability"
	}
	if errors.As(err, new(errReservedUsername)) { // answered as a taken username (csvimport.go)
		return "reserved-username"
	}
	we := asWire(err)
	switch {
	case we.Code == wire.CodeUnauthenticated:
		return "unauthenticated"
	case we.Code == wire.CodePending:
		return "inactive"
	case we.Code == wire.CodeForbidden && we.Field == "token":
		return "token"
	case we.Code == wire.CodeForbidden:
		return "forbidden"
	case we.Code == wire.CodeConflict && rt.who == keyed:
		return "duplicate-" + we.Field
	case rt.who == agentActive && strings.Contains(we.Field, "accountId"):
		return "foreign-account"
	}
	return ""
}

// auditRefusal records a refused request in the audit chain of the tenant it named, in a transaction of its own
// (the request's own transaction, if any, rolled back). It never records a body: only the route, the kind of
// refusal and the caller's key ID.
func (h *Hub) auditRefusal(rt route, r *request, err error) {
	kind := refusal(rt, r, err)
	if kind == "" {
		return
	}
	if r.tenant == nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// Refused before the tenant was looked up (protocol or capability version): find it now, if the header names one.
		if key, err := seal.PeerKey(r.TLS.PeerCertificates[0]); err == nil && r.keyID == "" {
			r.keyID = seal.KeyID(key)
		}
		guid := r.Header.Get(wire.HeaderClient)
		if wire.ValidGUID(guid) {
			_ = h.st.Read(r.Context(), func(tx store.Tx) error {
				t, err := tx.Tenant(guid)
				r.tenant = t
				return err
			})
		}
	}
	if r.tenant == nil { // an unknown tenant has no audit chain
		h.log.Info("request refused", "route", rt.method+" "+rt.path, "refusal", kind, "addr", clientAddr(r.Request))
		return
	}
	if !h.refusals.allow(strconv.FormatInt(r.tenant.ID, 10) + "|" + clientAddr(r.Request)) {
		h.log.Warn("request refused (audit bound reached)", "tenant", r.tenant.GUID, "route", rt.method+" "+rt.path,
			"refusal", kind, "key", r.keyID)
		return
	}
	actorKind, actorID := r.who.kind, r.who.id
	detail := fmt.Sprintf("route=%q refusal=%s code=%s", rt.method+" "+rt.path, kind, asWire(err).Code)
	if r.keyID != "" {
		detail += " key=" + r.keyID
	}
	// The request's context may already be cancelled (the client hung up); the record must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	werr := h.st.Write(ctx, func(tx store.Tx) error {
		return tx.Audit(&store.AuditEvent{TenantID: r.tenant.ID, At: h.now().UTC(), ActorKind: actorKind, ActorID: actorID,
			Action: "request.refused", Target: "route " + rt.path, Detail: detail})
	})
	if werr != nil {
		h.log.Error("audit refused request", "tenant", r.tenant.GUID, "route", rt.method+" "+rt.path, "err", werr)
	}
}
