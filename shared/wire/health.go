package wire

// Health is the hub's answer on PathHealthz, which needs no client certificate: a load balancer's health check
// and a client's first look at a hub read it.
//
// URLs are the addresses the hub's operator declared for it (watchword-hub serve --public-url), in order: the
// Console puts them in the invites it shows, so TechClients and agents can fail over between the hub's replicas.
// DB is the database this process is connected to, so a check can tell a replica on the primary from one stuck
// on a standby. Both came with CapHubURLs; an older hub answers without them.
type Health struct {
	OK         bool      `json:"ok"`
	Protocol   int       `json:"protocol"`
	Capability int       `json:"capability"`
	URLs       []string  `json:"urls,omitempty"`
	DB         *HealthDB `json:"db,omitempty"`
}

// Database engines and roles in HealthDB.
const (
	DBEngineSQLite   = "sqlite"
	DBEnginePostgres = "postgres"

	DBRolePrimary = "primary" // takes writes (SQLite is always its own primary)
	DBRoleStandby = "standby" // read-only: a hub on it cannot stage or confirm anything
)

// HealthDB is the database a hub process is connected to: its engine, its role, and the synchronous standbys
// that must hold each commit before the primary acknowledges it (PostgreSQL's synchronous replication; empty for
// SQLite and for a PostgreSQL without them, whose commits one machine's loss can undo).
type HealthDB struct {
	Engine      string   `json:"engine"`
	Role        string   `json:"role"`
	Synchronous []string `json:"synchronous,omitempty"`
}
