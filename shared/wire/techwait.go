package wire

// PathTechStatusWait long-polls a tech's own status: GET with ?status=<the status the device knows>&waitms=N
// answers a TechStatusResponse as soon as the status differs from the one given, or when the wait (at most
// MaxWait) ends. Any registered tech may call it, so a pending device learns of its approval without polling
// and without learning anything about the tenant's other changes.
const PathTechStatusWait = "/v1/tech/status/wait"
