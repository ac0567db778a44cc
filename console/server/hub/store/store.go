// Package store is the hub's memory: tenants, principals, groups, rights, triplets, accounts, sealed credential
// versions and the hash-chained audit log.
//
// The hub talks to storage only through Store and Tx. Tx is the union of one small interface per aggregate
// (TenantStore, TechStore, AgentStore, GroupStore, VersionStore, AuditStore, ...), so a reader finds what can be
// done to techs in one place. Every method of Tx is scoped to a tenant by its ID: a row of another tenant is
// reported as ErrNotFound, so a handler that forgets a check still cannot reach across tenants. Mutations and
// their audit event go in one Write transaction: either both land or neither does.
//
// What any implementation must do is the conformance suite in storetest: its Run covers every method of Store and
// Tx, and its own test fails when a method is called by no case. Two engines implement it with one transaction
// code: SQLite (modernc.org/sqlite, pure Go, WAL), the default and the embedded choice, and PostgreSQL (pgx through
// database/sql) for several hub replicas in front of a replicated server. OpenURL picks one by its URL. The
// migrations are embedded in the binary, written once and translated for PostgreSQL by fixed rules.
//
// Files:
//   - store.go: the contract — Store, Tx and the aggregate interfaces, the sentinel errors and the row types.
//   - open.go: OpenURL, Options, Migrate, Health and the opening errors (ErrAsyncReplication, ErrSchemaBehind).
//   - sql.go: what both engines share — the small dialect (placeholders, the savepoint a failing statement runs in
//     on PostgreSQL), Read and Write, audit verification, and the query helpers (queryAll, queryOne, row, create).
//   - sqlite.go: the SQLite store — Open and its migrations (PRAGMA user_version), backup by VACUUM INTO, and the
//     WAL checkpoint after a re-seal.
//   - postgres.go: the PostgreSQL store — one writer at a time by advisory lock, migrations under another
//     (several replicas starting at once apply each step once), the schema version check, Health from
//     pg_is_in_recovery and pg_stat_replication, and the durability check at open; Backup says to use pg_dump.
//   - migrations.go: the migrations' single source and the rewrite rules for PostgreSQL (documented there).
//   - copy.go: Copy, the move of a hub from its SQLite file to PostgreSQL (watchword-hub migrate-store): every
//     table in one transaction with the same IDs, then row counts and the audit chains and heads checked on both.
//   - tx.go: tenants, techs, admins, tokens, agents, groups, rights, triplets, accounts, versions and the audit
//     chain with its verification.
//   - tx_history.go: password history — History and PruneVersions (staged versions are never deleted).
//   - tx_jit.go: just-in-time grants, their Temporary Access Passes and the triplets' modes.
//   - tx_totp.go: two-factor and lockout state, and the security policy.
//   - tx_rekey.go: device replacement — re-keys, a tech's new key and the retirement of its versions.
//   - tx_import.go: CSV imports and the usernames they reserve.
//   - tx_orgs.go: organizations, the co-management switch, admins by ID and seats.
//   - tx_authority.go: the signed authority's updates and the agents' receipts.
//   - tx_techlife.go: a tech's device as last seen, and a deleted tech's tombstone.
//   - tx_collectors.go: the audit stream's syslog collectors and their cursors.
//   - migrations/*.sql: the schema, one numbered step per file, each applied once in order.
//   - sqlite_test.go and postgres_test.go run storetest against each engine with the SQL that tampers with the
//     audit log (postgres_test.go on a fresh schema of the test server, WATCHWORD_TEST_PG or targets.env's
//     PG_DSN); store_test.go holds what only SQLite has (migrations from empty and from version 1, the journal
//     mode, a backup reopened); migrations_test.go applies every step on both engines and compares the columns,
//     and opens one schema from many goroutines at once; copy_test.go moves a hub with real content to PostgreSQL
//     and compares every row.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")      // a uniqueness rule would break
	ErrTokenInvalid = errors.New("invalid token") // unknown, used or expired
	ErrAuditBroken  = errors.New("audit chain broken")
)

// Store opens transactions over the hub's state.
type Store interface {
	// Read runs fn in a read-only transaction.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction, committed when fn returns nil; when fn fails, nothing it did
	// stays.
	Write(ctx context.Context, fn func(Tx) error) error
	// VerifyAudit walks the whole audit chain and returns how many events it checked; an event altered, deleted
	// or unlinked outside the store is ErrAuditBroken.
	VerifyAudit(ctx context.Context) (int64, error)
	// VerifyAuditOf walks one tenant's chain alone: what it says, and its cost, depend on no other tenant. A
	// tenant ID below 1 is ErrNotFound.
	VerifyAuditOf(ctx context.Context, tenant int64) (int64, error)
	// Backup writes a consistent copy of the database to path while the store stays online; an existing file at
	// path is ErrConflict.
	Backup(ctx context.Context, path string) error
	// Health says which engine serves the store, whether the database it reaches is a primary or a standby, and
	// whether a commit waits for a synchronous standby.
	Health(ctx context.Context) (Health, error)
	// Close ends the store: a later Read or Write fails.
	Close() error
}

// Tx is one transaction: every aggregate's methods together. Methods taking a tenant ID never return rows of
// another tenant.
type Tx interface {
	TenantStore
	TechStore
	AdminStore
	TokenStore
	AgentStore
	GroupStore
	RightStore
	TripletStore
	JITStore
	AccountStore
	VersionStore
	AuditStore
	SecurityStore
	RekeyStore
	ImportStore
	OrgStore
	AuthorityStore
	CollectorStore
}

// TenantStore holds the MSPs.
type TenantStore interface {
	CreateTenant(t *Tenant) error
	Tenant(guid string) (*Tenant, error)
	TenantByID(id int64) (*Tenant, error)
	Tenants() ([]Tenant, error)
	UpdateTenant(t *Tenant) error
	// BumpRevision increments and returns the tenant's revision; long polls wake on it.
	BumpRevision(tenant int64) (int64, error)
}

// TechStore holds the technicians' registrations.
type TechStore interface {
	CreateTech(t *Tech) error
	Tech(tenant, id int64) (*Tech, error)
	TechByKey(tenant int64, keyID string) (*Tech, error)
	TechByUsername(tenant int64, username string) (*Tech, error)
	Techs(tenant int64, status wire.TechStatus) ([]Tech, error) // status "" lists all
	CountTechs(tenant int64, status wire.TechStatus) (int, error)
	UpdateTech(t *Tech) error
	// SetTechKey replaces the tech's device key (an approved re-key).
	SetTechKey(tenant, tech int64, publicKey, keyID, fingerprint string, at time.Time) error
	// SetTechShortName sets the short name that stands for the tech's username in its account names ("": none).
	SetTechShortName(tenant, tech int64, short string, at time.Time) error
	// TouchTech records when the tech's device was last seen and the TechClient release it runs, and nothing else.
	TouchTech(tenant, tech int64, at time.Time, version string) error
	// DeleteTech makes a disabled tech a tombstone (Tech.DeletedAt): its row stays for the audit log and its
	// accounts. A tech that is not disabled, or already deleted, is ErrConflict.
	DeleteTech(tenant, tech int64, deleteAccounts bool, at time.Time) error
}

// AdminStore holds the console admins, their roles and seats of organization.
type AdminStore interface {
	CreateAdmin(a *Admin) error
	Admin(tenant, id int64) (*Admin, error)
	AdminByKey(tenant int64, keyID string) (*Admin, error)
	Admins(tenant int64) ([]Admin, error)
	UpdateAdmin(a *Admin) error // role, organization, status
	DeleteAdmin(tenant, id int64) error
}

// TokenStore holds single-use enrollment and claim tokens.
type TokenStore interface {
	CreateToken(t *Token) error
	// UseToken marks the token of that kind and hash used, or fails with ErrTokenInvalid.
	UseToken(tenant int64, kind, hash string, now time.Time) (*Token, error)
}

// AgentStore holds the enrolled agents.
type AgentStore interface {
	CreateAgent(a *Agent) error
	Agent(tenant, id int64) (*Agent, error)
	AgentByKey(tenant int64, keyID string) (*Agent, error)
	Agents(tenant int64) ([]Agent, error)
	// AgentsBrief is Agents without their public keys (2 KB each), for the entitlement view.
	AgentsBrief(tenant int64) ([]Agent, error)
	UpdateAgent(a *Agent) error
}

// GroupStore holds TechGroups and AgentGroups with their members. A member must be of the tenant and of the
// group's kind.
type GroupStore interface {
	CreateGroup(g *Group) error
	Group(tenant, id int64) (*Group, error)
	Groups(tenant int64, kind string) ([]Group, error) // with members
	UpdateGroup(g *Group) error                        // name, interval and rotate-after-use override
	// DeleteGroup deletes the group with its memberships and triplets.
	DeleteGroup(tenant, id int64) error
	SetMembers(tenant, group int64, members []int64) error
	AddMembers(tenant, group int64, members []int64) error
	RemoveMembers(tenant, group int64, members []int64) error
}

// RightStore holds the named privileges.
type RightStore interface {
	CreateRight(r *Right) error
	Right(tenant, id int64) (*Right, error)
	Rights(tenant int64) ([]Right, error)
	UpdateRight(r *Right) error // name and targets
	DeleteRight(tenant, id int64) error
}

// TripletStore holds the grants of a right to a TechGroup on an AgentGroup.
type TripletStore interface {
	// CreateTriplet refuses groups or a right of another tenant, and groups of the wrong kinds, with ErrNotFound.
	CreateTriplet(t *Triplet) error
	Triplets(tenant int64) ([]Triplet, error)
	DeleteTriplet(tenant, id int64) error
	UpdateTriplet(t *Triplet) error // the mode fields
}

// JITStore holds just-in-time grants. At most one open grant per account: a second is ErrConflict.
type JITStore interface {
	CreateJITGrant(g *JITGrant) error
	JITGrant(tenant, id int64) (*JITGrant, error)
	JITGrants(tenant int64, q JITQuery) ([]JITGrant, error) // newest first
	// UpdateJITGrant writes the mutable fields (status, decision, note, window). A grant it closes (ended, refused,
	// expired) drops its Temporary Access Pass: the pass is of no use past the window.
	UpdateJITGrant(g *JITGrant) error
	// SetJITTAP keeps the sealed Temporary Access Pass the agent issued for an open window (replacing an earlier one:
	// a target keeps one pass per account). A closed grant is ErrConflict, a missing one ErrNotFound.
	SetJITTAP(tenant, id int64, tap *JITTAP) error
}

// AccountStore holds the techs' accounts on the agents' targets.
type AccountStore interface {
	// EnsureAccount returns the account of (tech, agent), creating it under name if there is none.
	EnsureAccount(tenant, tech, agent int64, name string, now time.Time) (*Account, error)
	Account(tenant, id int64) (*Account, error)
	AccountsByAgent(tenant, agent int64) ([]Account, error)
	AccountsByTech(tenant, tech int64) ([]Account, error)
	UpdateAccount(a *Account) error
	// Unresolved counts the account's versions that stay unresolved — failed, or staged and never confirmed — above
	// the later of its last confirmed version and its RetryVersion, and returns the newest failure's reason ("" if
	// none of them failed).
	Unresolved(tenant, account int64) (int, string, error)
	// RequestRotation marks every account matching all non-zero filters and returns how many.
	RequestRotation(tenant, tech, agent, account int64, at time.Time) (int, error)
}

// VersionStore holds the sealed password versions of the accounts.
type VersionStore interface {
	// StageVersion stores a sealed version; version must exceed the account's current version.
	StageVersion(tenant int64, v *Version) error
	// LatestVersions returns, for every account of agent that has versions, its highest version (without envelope).
	LatestVersions(tenant, agent int64) (map[int64]Version, error)
	// Versions lists an account's versions, newest first.
	Versions(tenant, account int64) ([]Version, error)
	// LiveVersionsByTech returns the staged and confirmed versions of every account of the tech, newest first, by
	// account ID: what the tech's credential list hands out, read in one query rather than one per account.
	LiveVersionsByTech(tenant, tech int64) (map[int64][]Version, error)
	// LiveVersionsOfAccounts is LiveVersionsByTech for some of the tech's accounts: a long list is read a page at
	// a time as it is written out.
	LiveVersionsOfAccounts(tenant, tech int64, accounts []int64) (map[int64][]Version, error)
	// ConfirmVersion marks a staged version confirmed, supersedes older ones and records the rotation.
	ConfirmVersion(tenant, account, version int64, now time.Time) error
	// FailVersion marks a staged version failed.
	FailVersion(tenant, account, version int64, reason string) error
	// PruneVersions keeps the keep newest versions of the account that were ever confirmed and deletes every older
	// version that is not staged, returning how many it deleted.
	PruneVersions(tenant, account int64, keep int) (int, error)
	// History returns up to n versions of the account that were ever confirmed, newest first, with envelopes.
	History(tenant, account int64, n int) ([]Version, error)
	// RetireTechVersions supersedes every staged and confirmed version of the tech's accounts and returns how many.
	RetireTechVersions(tenant, tech int64) (int, error)
}

// AuditStore appends to and reads the tenant's hash-chained audit log.
type AuditStore interface {
	// Audit appends an event to the hash chain and fills in its Seq and Hash.
	Audit(e *AuditEvent) error
	AuditEvents(tenant int64, q wire.AuditQuery) ([]AuditEvent, error)
}

// SecurityStore holds two-factor state, lockout and the security policy. TechSecurity of a tech without a row is
// the zero state; the policy of a tenant that never set one is wire.DefaultSecurityPolicy.
type SecurityStore interface {
	TechSecurity(tenant, tech int64) (*TechSecurity, error)
	TechSecurities(tenant int64) ([]TechSecurity, error)
	PutTechSecurity(s *TechSecurity) error
	SecurityPolicy(tenant int64) (wire.SecurityPolicy, error)
	SetSecurityPolicy(tenant int64, p wire.SecurityPolicy) error
}

// RekeyStore holds the requests to replace a tech's device.
type RekeyStore interface {
	CreateRekey(k *Rekey) error
	Rekey(tenant, id int64) (*Rekey, error)
	RekeyByKey(tenant int64, keyID string) (*Rekey, error)
	Rekeys(tenant int64, status string) ([]Rekey, error)             // status "" lists all, newest first
	DecideRekey(tenant, id int64, status string, at time.Time) error // a pending one only
	// ContestRekey counts a refused request of another device for the same tech against a pending re-key.
	ContestRekey(tenant, id int64, fingerprint string, at time.Time) error
}

// ImportStore holds the CSV imports and the usernames they reserve.
type ImportStore interface {
	CreateImport(im *TechImport) error
	Imports(tenant int64) ([]TechImport, error) // newest first
	CreateReservation(r *Reservation) error
	Reservations(tenant int64) ([]Reservation, error)
	ReservationByUsername(tenant int64, username string) (*Reservation, error)
	// MatchReservation records the tech a pending reservation became; a matched one is ErrNotFound.
	MatchReservation(tenant, id, tech int64, at time.Time, typed Typed) error
	ReservationOf(tenant, tech int64) (*Reservation, error) // the reservation tech matched
}

// OrgStore holds the client organizations, the co-management switch (on for a new tenant) and the seats.
type OrgStore interface {
	CreateOrg(o *Org) error
	Org(tenant, id int64) (*Org, error)
	OrgByName(tenant int64, name string) (*Org, error) // case-insensitive
	Orgs(tenant int64) ([]Org, error)                  // by name
	UpdateOrg(o *Org) error                            // the co-management flag
	CoManagement(tenant int64) (bool, error)
	SetCoManagement(tenant int64, on bool) error
	// Seats lists the active techs and agents, oldest seat first.
	Seats(tenant int64) ([]Seat, error)
}

// AuthorityStore holds each tenant's signed authority (package shared/authority): its updates, as the exact bytes
// the admins signed, and the agents' receipts of them. The store checks no signature and no chaining: the hub
// verifies an update before it appends it, and every reader verifies again.
type AuthorityStore interface {
	// AppendAuthority stores an update; one of the same tenant and sequence number is ErrConflict, an unknown
	// tenant ErrNotFound.
	AppendAuthority(u *AuthorityUpdate) error
	// AuthorityUpdates lists at most limit (below 1: all) of the tenant's updates with a sequence number above
	// since (-1: from the genesis), in order.
	AuthorityUpdates(tenant, since int64, limit int) ([]AuthorityUpdate, error)
	// AuthorityHead returns the tenant's newest update without its body (it can be a megabyte, and the head is
	// read on every plan); a tenant without one is ErrNotFound.
	AuthorityHead(tenant int64) (*AuthorityUpdate, error)
	// SetAgentAuthority records an agent's receipt, which Agent and Agents return in Agent.Authority.
	SetAgentAuthority(tenant, agent int64, r AgentAuthority) error
}

// CollectorStore holds the syslog collectors a tenant's audit log is streamed to (package auditstream), each with
// its cursor: the newest sequence number of the tenant's chain the collector has taken.
type CollectorStore interface {
	// CreateCollector stores a collector with its cursor at 0; a second of the same name in the tenant is
	// ErrConflict, an unknown tenant ErrNotFound.
	CreateCollector(c *Collector) error
	Collector(tenant, id int64) (*Collector, error)
	Collectors(tenant int64) ([]Collector, error) // by name
	DeleteCollector(tenant, id int64) error
	// SetCollectorSent moves the cursor forward to seq at time at; a seq at or below the cursor leaves it (a
	// stream that resent older events never moves it back).
	SetCollectorSent(tenant, id, seq int64, at time.Time) error
	// SetCollectorHead records when the newest signed chain head went to the collector.
	SetCollectorHead(tenant, id int64, at time.Time) error
}

// Collector is one syslog collector of a tenant's audit stream.
type Collector struct {
	ID        int64
	TenantID  int64
	Name      string
	Address   string // host:port of its syslog-over-TLS listener
	CAPEM     string // the CA certificate its TLS certificate must chain to
	Format    string // wire.CollectorJSON or wire.CollectorCEF
	CreatedAt time.Time
	SentSeq   int64     // the cursor: the newest audit sequence number it has taken, 0 for none
	SentAt    time.Time // when the cursor last moved
	HeadAt    time.Time // when the last signed chain head went out
}

// Tenant is one MSP.
type Tenant struct {
	ID        int64
	GUID      string
	Name      string
	Abbrev    string
	Recovery  string
	Policy    wire.Policy
	Revision  int64
	CreatedAt time.Time
}

// Tech is a technician's registration.
type Tech struct {
	ID           int64
	TenantID     int64
	Username     string
	DisplayName  string
	Email        string
	Organization string
	CoManaged    bool
	Status       wire.TechStatus
	PublicKey    string
	KeyID        string
	Fingerprint  string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// ShortName, when set, stands for the username in the tech's account names (entitle.Base).
	ShortName string
	// LastSeen and ClientVersion are the device's last request and TechClient release (TouchTech); DeletedAt is
	// set when an admin deleted the tech, DeleteAccounts when its accounts are deleted from the targets too.
	LastSeen       time.Time
	ClientVersion  string
	DeletedAt      time.Time
	DeleteAccounts bool
}

// Admin is a console admin of a tenant.
type Admin struct {
	ID        int64
	TenantID  int64
	Name      string
	Role      wire.Role
	PublicKey string
	KeyID     string
	CreatedAt time.Time
	// Organization is a Co-managed Manager's organization; Status is pending until an owner approves an invited
	// admin's key.
	Organization string
	Status       wire.AdminStatus
	// API marks an API identity: an admin a script uses. It is refused from APIExpiresAt on (zero: never) and
	// from an address outside APISources (CIDRs, space-separated; empty: anywhere).
	API          bool
	APIExpiresAt time.Time
	APISources   string
}

// Token kinds.
const (
	TokenEnroll = "enroll"
	TokenClaim  = "claim"
)

// Token is a single-use secret, stored as its hash.
type Token struct {
	ID       int64
	TenantID int64
	Kind     string
	Role     wire.Role // for claim tokens
	Hash     string
	// Organization is the Co-managed Manager's organization a claim token invites to.
	Organization string
	// ApproveOnUse (enrollment tokens): the agent that uses the token is active at once instead of pending.
	ApproveOnUse bool
	ExpiresAt    time.Time
	UsedAt       time.Time
	CreatedAt    time.Time
	// API, APIExpiresAt, APISources (claim tokens): the admin claiming it is an API identity with that expiry and
	// those sources (Admin).
	API          bool
	APIExpiresAt time.Time
	APISources   string
}

// Agent is an enrolled agent.
type Agent struct {
	ID        int64
	TenantID  int64
	Name      string
	Driver    string
	Status    wire.AgentStatus
	PublicKey string
	KeyID     string
	Version   string
	LastSeen  time.Time
	CreatedAt time.Time
	// Authority is the agent's last receipt of the signed authority (AuthorityStore.SetAgentAuthority); UpdateAgent
	// leaves it alone.
	Authority AgentAuthority
}

// AgentAuthority is an agent's receipt of the signed authority: the head it verified (Hash "" before any) and,
// when it refuses the hub's plan, why.
type AgentAuthority struct {
	Seq     uint64
	Hash    string
	Refusal string
}

// AuthorityUpdate is one signed authority update of a tenant: its sequence number, its hash (hex) and its
// canonical encoding, stored byte for byte.
type AuthorityUpdate struct {
	TenantID  int64
	Seq       uint64
	Hash      string
	Body      []byte
	CreatedAt time.Time
}

// Group kinds.
const (
	KindTech  = "tech"
	KindAgent = "agent"
)

// Group is a TechGroup or an AgentGroup.
type Group struct {
	ID              int64
	TenantID        int64
	Kind            string
	Name            string
	Builtin         bool
	IntervalSeconds int64
	Members         []int64
	// RotateAfterUseSeconds overrides the tenant's rotate-after-use grace (agent groups; nil inherits, 0 is off).
	RotateAfterUseSeconds *int64
}

// Right is a named privilege.
type Right struct {
	ID       int64
	TenantID int64
	Name     string
	Builtin  bool
	Targets  map[string][]string
}

// Triplet grants a right.
type Triplet struct {
	ID           int64
	TenantID     int64
	TechGroupID  int64
	AgentGroupID int64
	RightID      int64
	Builtin      bool
	// Mode is wire.TripletStanding (or empty) or wire.TripletJIT, with the window's limit and approval rule.
	Mode               string
	MaxDurationSeconds int64
	ApprovalRequired   bool
}

// Account is a tech's account on an agent's target. Its name is fixed when created.
type Account struct {
	ID                int64
	TenantID          int64
	TechID            int64
	AgentID           int64
	Name              string
	State             string // planned, present, disabled, error, failed
	LastError         string
	CurrentVersion    int64
	RotateRequestedAt time.Time // a pending rotation request is due at this time, if after RotatedAt
	RotateReason      string    // why it was requested (wire.DueRotateNow, wire.DueAfterReveal)
	RotatedAt         time.Time
	CreatedAt         time.Time
	// Adopted: an admin let the agent take over the existing account of this name on the target.
	Adopted bool
	// RetriedAt is when an admin last retried the account; RetryVersion its current version then. Unresolved
	// counts only versions above it.
	RetriedAt    time.Time
	RetryVersion int64
}

// Version is one sealed password of an account.
type Version struct {
	ID          int64
	AccountID   int64
	Version     int64
	Envelope    []byte
	State       wire.VersionState
	Reason      string
	StagedAt    time.Time
	ConfirmedAt time.Time
	// RecoveryOnly: sealed to the recovery recipient alone (a JIT account outside its window); never handed to
	// the tech.
	RecoveryOnly bool
	// Signature is the staging agent's signature over the version's envelope statement; the hub stores and hands
	// it out, and TechClients verify it. Nil when the agent sent none.
	Signature []byte
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	Seq       int64
	TenantID  int64
	At        time.Time
	ActorKind string
	ActorID   int64
	Action    string
	Target    string
	Detail    string
	PrevHash  string
	Hash      string
}

// TechSecurity is a tech's two-factor and lockout state. A tech without a row has the zero state.
type TechSecurity struct {
	TechID         int64
	TenantID       int64
	TOTPSecret     string // base32; a shared secret: never log it
	TOTPEnrolledAt time.Time
	TOTPLastStep   int64 // the last accepted time step: a code is good once
	PauseNextLogin bool
	PauseUntil     time.Time
	SessionKey     string
	SessionUntil   time.Time
	Failures       int
	LockedAt       time.Time
	LockReason     string
}

// Rekey is a request to replace a tech's device key.
type Rekey struct {
	ID             int64
	TenantID       int64
	TechID         int64
	PublicKey      string
	KeyID          string
	Fingerprint    string
	OldKeyID       string
	OldFingerprint string
	Status         string // wire.RekeyPending, RekeyApproved, RekeyRejected
	CreatedAt      time.Time
	DecidedAt      time.Time
	// Contested counts the other devices' requests for the same tech refused while this one was pending; the last
	// one's fingerprint and time.
	Contested            int
	ContestedFingerprint string
	ContestedAt          time.Time
}

// JITGrant is one request for a window on a JIT account and what became of it.
type JITGrant struct {
	ID               int64
	TenantID         int64
	TechID           int64
	AccountID        int64
	AgentID          int64 // from the account; not stored
	Status           wire.JITStatus
	Reason           string
	DurationSeconds  int64
	ApprovalRequired bool
	RequestedAt      time.Time
	DecidedBy        string // the deciding admin's name, "auto" when no approval was needed
	DecidedAt        time.Time
	Note             string
	EnabledAt        time.Time
	ExpiresAt        time.Time
	EndedAt          time.Time
	TAP              *JITTAP // the window's sealed Temporary Access Pass; nil when none (SetJITTAP)
}

// JITTAP is a window's Temporary Access Pass as the hub keeps it: the age file the agent sealed to the tech's
// device and the recovery recipient, the agent's signature over its statement, and when it was issued and stops
// working on the target. The hub never holds the code itself.
type JITTAP struct {
	Envelope  []byte
	Signature []byte
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// JITQuery filters grants; zero values do not filter. Open selects pending, approved and active grants.
type JITQuery struct {
	TechID    int64
	AccountID int64
	AgentID   int64
	Status    wire.JITStatus
	Open      bool
	Limit     int
}

// TechImport is one CSV import of the history.
type TechImport struct {
	ID         int64
	TenantID   int64
	AdminID    int64
	Mode       string
	Rows       int
	Created    int
	Exceptions []wire.ImportException
	CreatedAt  time.Time
}

// Reservation is a username reserved by an import until a device registers under it.
type Reservation struct {
	ID           int64
	TenantID     int64
	ImportID     int64
	Username     string
	DisplayName  string
	Email        string
	Organization string
	Groups       []int64 // tech group IDs
	TechID       int64   // the tech it became; 0 while pending-match
	CreatedAt    time.Time
	MatchedAt    time.Time
	// Typed is what the device typed at registration, set when the reservation matched.
	Typed Typed
}

// Typed is what a registering device typed for a reserved username.
type Typed struct {
	DisplayName  string
	Email        string
	Organization string
}

// Org is a client organization. Techs name theirs by text; OrgByName matches case-insensitively.
type Org struct {
	ID        int64
	TenantID  int64
	Name      string
	CoManaged bool // co-management enabled for the organization
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Seat is an active tech or agent with the start of its current active period.
type Seat struct {
	Kind         string // wire.SeatMSPTech, wire.SeatCoManagedTech, wire.SeatAgent
	ID           int64
	Name         string
	Organization string
	Since        time.Time
}
