package hubserve

import (
	"log/slog"
	"strings"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/pgshare"
)

// Replicas prepares cfg for a hub on the database at dsn. A PostgreSQL database (postgres:// or postgresql://)
// may have other hub processes on it: the hub gets the PostgreSQL change feed, which wakes its long polls for the
// others' changes, and the advisory lock under which one of them at a time streams the audit log (package
// pgshare). Anything else is a SQLite file, which one process holds, and cfg stays as it is. done closes what
// Replicas opened; call it after the server shut down.
func Replicas(dsn string, cfg *hub.Config, log *slog.Logger) (done func()) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return func() {}
	}
	feed := pgshare.NewFeed(dsn, log)
	cfg.Feed = feed
	cfg.AuditStreamLock = pgshare.NewLock(dsn, pgshare.AuditStreamKey, log)
	return func() { feed.Close() }
}
