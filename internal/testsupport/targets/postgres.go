package targets

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresEnvVar names the variable holding the DSN of a PostgreSQL superuser on loopback; when it is unset,
// PG_DSN of the targets env file (scripts/targets.sh starts that server) is used.
const PostgresEnvVar = "WATCHWORD_TEST_PG"

// PostgresDSN returns the test PostgreSQL server's DSN, or skips tb when there is none (fails it when CI=true).
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	if dsn := os.Getenv(PostgresEnvVar); dsn != "" {
		return dsn
	}
	if path := os.Getenv(EnvVar); path != "" {
		env, err := Load(path)
		if err != nil {
			tb.Fatal(err)
		}
		if dsn := env["PG_DSN"]; dsn != "" {
			return dsn
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("no PostgreSQL under CI=true: set %s, or start scripts/targets.sh and point %s at targets.env", PostgresEnvVar, EnvVar)
	}
	tb.Skipf("no PostgreSQL: set %s, or run scripts/targets.sh start and point %s at targets.env", PostgresEnvVar, EnvVar)
	return ""
}

// PostgresSchema creates a new, empty schema on the server at dsn and returns dsn with search_path set to it, so
// that a store opened with it sees only its own tables; the schema is dropped when tb ends. A schema is made in
// milliseconds, a database in about a second.
func PostgresSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("postgres dsn does not parse")
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "wwtest_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
