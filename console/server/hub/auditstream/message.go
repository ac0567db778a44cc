package auditstream

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

// SDID is the structured-data ID of every message: "watchword@" and 32473, the private enterprise number RFC 5612
// reserves for examples, until Watchword has a number of its own.
const SDID = "watchword@32473"

// Message IDs (RFC 5424 MSGID) of the two kinds of message.
const (
	MsgAudit = "audit" // one audit event
	MsgHead  = "head"  // a signed chain head
)

// pri is facility 13 ("log audit") at severity 6 (informational).
const pri = 13*8 + 6

// Head is a signed chain head: the newest event of a tenant's chain, signed by the hub's key, with the newest
// audit checkpoint the tenant's admins signed into the signed authority, when there is one.
//
// What each proves: the hub's signature says this hub (its key ID, the one clients pin) had this event as the head
// of its chain at At; a later chain that does not contain it, unchanged, is a rewrite by the hub or someone with its
// database, and the SIEM's copy shows it. The checkpoint was signed by an admin's key, which the hub does not hold:
// it proves the events up to its Seq were as they are to an admin who verified the chain, even against a hub that
// lies (the hub could sign a false head; it cannot make a checkpoint).
type Head struct {
	Tenant    int64     `json:"tenant"`
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	HubKeyID  string    `json:"hubKeyId"`
	HubKey    []byte    `json:"hubKey"`    // Ed25519 public key
	Signature []byte    `json:"signature"` // Ed25519 over HeadStatement
	// Checkpoint is the newest OpAuditCheckpoint of the tenant's signed authority: the event Seq with hash Hash, in
	// the authority update Update, which holds the admin's signature (GET PathAuthority serves it).
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// Checkpoint is an admin-signed point of the chain.
type Checkpoint struct {
	Seq    int64  `json:"seq"`
	Hash   string `json:"hash"`
	Update uint64 `json:"update"`
}

// HeadStatement is what the hub signs for a head: fixed text, so that a verifier builds it again from the fields.
func HeadStatement(tenant, seq int64, hash string, at time.Time) []byte {
	return fmt.Appendf(nil, "watchword audit head v1\ntenant %d\nseq %d\nhash %s\nat %d\n", tenant, seq, hash, at.UnixNano())
}

// Event formats one audit event as an RFC 5424 message in format (wire.CollectorJSON or wire.CollectorCEF).
func Event(e wire.AuditEvent, host, format string) []byte {
	sd := fmt.Sprintf(`[%s tenant="%d" seq="%d" hash="%s" prevHash="%s"]`, SDID, e.Tenant, e.Seq, sdEscape(e.Hash), sdEscape(e.PrevHash))
	var msg []byte
	if format == wire.CollectorCEF {
		msg = []byte(CEF(e))
	} else {
		msg, _ = json.Marshal(auditexport.Row{AuditEvent: e})
	}
	return header(e.At, host, MsgAudit, sd, msg)
}

// HeadMessage formats a signed head as an RFC 5424 message whose MSG is the head as JSON.
func HeadMessage(h Head, host string) []byte {
	sd := fmt.Sprintf(`[%s tenant="%d" seq="%d" hash="%s"]`, SDID, h.Tenant, h.Seq, sdEscape(h.Hash))
	msg, _ := json.Marshal(h)
	return header(h.At, host, MsgHead, sd, msg)
}

func header(at time.Time, host, msgid, sd string, msg []byte) []byte {
	if host == "" {
		host = "-"
	}
	b := fmt.Appendf(nil, "<%d>1 %s %s watchword-hub - %s %s ", pri, at.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), host, msgid, sd)
	return append(b, msg...)
}

// Frame is msg with RFC 5425's octet-counting: its length in decimal, a space, then the message.
func Frame(msg []byte) []byte {
	return append(strconv.AppendInt(nil, int64(len(msg)), 10), append([]byte{' '}, msg...)...)
}

// sdEscape escapes a structured-data parameter value (RFC 5424 section 6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}

// CEF is the event in ArcSight's Common Event Format: the action as the event class and name, and every field the
// chain hash covers in the extension (the time to the nanosecond in atNano), so that a CEF copy verifies too.
func CEF(e wire.AuditEvent) string {
	head := strings.NewReplacer(`\`, `\\`, `|`, `\|`)
	ext := strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
	kv := []string{
		"rt=" + strconv.FormatInt(e.At.UnixMilli(), 10),
		"act=" + ext.Replace(e.Action),
		"suser=" + ext.Replace(e.ActorKind) + " " + strconv.FormatInt(e.ActorID, 10),
		"msg=" + ext.Replace(e.Detail),
		"cs1Label=target cs1=" + ext.Replace(e.Target),
		"cs2Label=hash cs2=" + e.Hash,
		"cs3Label=prevHash cs3=" + e.PrevHash,
		"cs4Label=actorKind cs4=" + ext.Replace(e.ActorKind),
		"cn1Label=seq cn1=" + strconv.FormatInt(e.Seq, 10),
		"cn2Label=tenant cn2=" + strconv.FormatInt(e.Tenant, 10),
		"cn3Label=actorId cn3=" + strconv.FormatInt(e.ActorID, 10),
		"cs5Label=atNano cs5=" + strconv.FormatInt(e.At.UnixNano(), 10),
	}
	return fmt.Sprintf("CEF:0|Watchword|watchword-hub|1|%s|%s|3|%s", head.Replace(e.Action), head.Replace(e.Action), strings.Join(kv, " "))
}
