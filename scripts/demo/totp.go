package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/totpseal"
)

// totpCodes prints, demo only, the authenticator codes of username's enrolment as they change, until the tech has
// enrolled, so that a newcomer without an authenticator app can finish the co-managed story. It reads the demo
// hub's own database and key file: only the hub's host can, and only a throwaway hub should.
func totpCodes(ctx context.Context, out io.Writer, db, username string, now func() time.Time) error {
	if db == "" || username == "" {
		return errors.New("totp: --db and --username are required")
	}
	if _, err := os.Stat(db + ".key"); err != nil {
		return fmt.Errorf("totp: the hub's key file: %w", err)
	}
	id, err := hubserve.LoadOrCreateIdentity(db + ".key")
	if err != nil {
		return err
	}
	sealer := totpseal.New(id)
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	last := ""
	for {
		sec, enrolled, err := secretOf(ctx, st, sealer, username)
		switch {
		case err != nil:
			return err
		case enrolled:
			fmt.Fprintf(out, "demo: %s confirmed the authenticator; no more codes\n", username)
			return nil
		case sec != "":
			code, err := totp.GenerateCode(sec, now())
			if err != nil {
				return err
			}
			if code != last {
				fmt.Fprintf(out, "demo: %s's authenticator code (demo only, in place of a phone): %s\n", username, code)
				last = code
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// secretOf finds username in any tenant of the hub and returns its pending TOTP secret ("" before an enrolment
// starts) and whether it has enrolled.
func secretOf(ctx context.Context, st *store.SQLite, sealer *totpseal.Sealer, username string) (secret string, enrolled bool, err error) {
	err = st.Read(ctx, func(tx store.Tx) error {
		tenants, err := tx.Tenants()
		if err != nil {
			return err
		}
		for _, tn := range tenants {
			t, err := tx.TechByUsername(tn.ID, username)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			s, err := tx.TechSecurity(tn.ID, t.ID)
			if err != nil {
				return err
			}
			if !s.TOTPEnrolledAt.IsZero() {
				enrolled = true
				return nil
			}
			secret, err = sealer.Open(tn.ID, t.ID, s.TOTPSecret)
			return err
		}
		return fmt.Errorf("totp: no tech %q on this hub", username)
	})
	return secret, enrolled, err
}
