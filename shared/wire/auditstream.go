package wire

import "time"

// PathAdminAuditCollectors lists (GET, every admin who reads the audit log) and creates (POST, the owner) the
// syslog collectors the tenant's audit log streams to; PathAdminAuditCollectors/{id} deletes one (DELETE, the
// owner). CapAuditStream.
const PathAdminAuditCollectors = "/v1/admin/audit/collectors"

// Formats of a collector's messages: the event as JSON (an audit export's JSON line, which verify-audit --file
// reads back) or ArcSight CEF. Either way the message's structured data carries the tenant, sequence number and
// chain hashes.
const (
	CollectorJSON = "json"
	CollectorCEF  = "cef"
)

// CollectorBacklogAlert is the backlog (events committed and not yet taken by a collector) from which the hub
// raises the collector's alert: the collector has been away, or cannot keep up, for that many events.
const CollectorBacklogAlert = 1000

// CollectorRequest is the body of POST PathAdminAuditCollectors.
type CollectorRequest struct {
	Name    string `json:"name"`    // how admins tell collectors apart, unique in the tenant
	Address string `json:"address"` // host:port of its syslog-over-TLS listener (RFC 5425)
	// CAPEM is the PEM CA certificate the collector's TLS certificate must chain to; its name must match the host
	// of Address.
	CAPEM  string `json:"caPem"`
	Format string `json:"format"` // CollectorJSON or CollectorCEF
}

// Collector is a collector with the state of its stream, as GET PathAdminAuditCollectors lists it.
type Collector struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Format    string    `json:"format"`
	CreatedAt time.Time `json:"createdAt"`
	// Connected says the hub holds a TLS connection to it now; Error is why the last connection failed or ended.
	Connected bool   `json:"connected"`
	Error     string `json:"error,omitempty"`
	// SentSeq is the newest event it has taken (its cursor), SentAt when that moved; HeadSeq the newest event of
	// the chain and Backlog the events between. HeadSentAt is when the last signed chain head went to it.
	SentSeq    int64     `json:"sentSeq"`
	SentAt     time.Time `json:"sentAt,omitzero"`
	HeadSeq    int64     `json:"headSeq"`
	Backlog    int64     `json:"backlog"`
	HeadSentAt time.Time `json:"headSentAt,omitzero"`
	// Alert is set when Backlog reached CollectorBacklogAlert: a sentence an admin reads.
	Alert string `json:"alert,omitempty"`
}
