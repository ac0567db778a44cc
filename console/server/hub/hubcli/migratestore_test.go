package hubcli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/seal"
)

// TestMigrateStorePostgres runs testdata/pg/*.txtar, which move a hub to the test PostgreSQL server: each script
// gets $PG, the DSN of a fresh schema there, and $RECOVERY as TestScripts gives it. The refusals that need no
// server are in testdata/migratestore.txtar.
func TestMigrateStorePostgres(t *testing.T) {
	server := targets.PostgresDSN(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/pg",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PG", targets.PostgresSchema(t, server))
			rec, err := seal.GenerateIdentity()
			if err != nil {
				return err
			}
			env.Setenv("RECOVERY", rec.Public().Recipient().String())
			return os.WriteFile(filepath.Join(env.WorkDir, "recovery.txt"), []byte(rec.AgeIdentity().String()+"\n"), 0o600)
		},
	})
}
