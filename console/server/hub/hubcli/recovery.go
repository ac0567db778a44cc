package hubcli

// Break-glass without SQL: recovery export writes the sealed envelopes the hub stores as .age files, so that the
// operator who holds the tenant's recovery identity opens one with the plain age command:
//
//	watchword-hub recovery export --account alice-acme --out /tmp/bg
//	age -d -i recovery.txt /tmp/bg/acme_dc01.contoso.local_alice-acme_v7.age
//
// The hub cannot open an envelope (it holds no recovery identity): this only copies ciphertext out of the database.
// Account and agent names come from techs and admins, so a name is never trusted as a path: each part of a file
// name keeps only letters, digits, dots, dashes and underscores, and the file must land inside --out.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/wire"
)

// recoveryQuery says which envelopes recovery export writes.
type recoveryQuery struct {
	tenant  string // GUID, name or abbreviation; "" every tenant
	account string // account name on the target
	tech    string // username
	host    string // agent name; "" every agent
	all     bool
	history bool // every stored version, not just the current ones
}

func (q recoveryQuery) validate() error {
	n := 0
	for _, set := range []bool{q.account != "", q.tech != "", q.all} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("recovery export: give exactly one of --account NAME, --tech USERNAME or --all")
	}
	return nil
}

// cmdRecoveryExport writes the envelopes q selects into dir and lists them.
func cmdRecoveryExport(ctx context.Context, out io.Writer, db, dir string, q recoveryQuery) error {
	if err := q.validate(); err != nil {
		return err
	}
	if dir == "" {
		return errors.New("recovery export: --out DIR is required")
	}
	if err := existing("recovery export", db); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("recovery export: %w", err)
	}
	st, err := store.OpenURL(ctx, db, toolOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	type file struct {
		name string
		data []byte
	}
	var files []file
	tenants := 0
	err = st.Read(ctx, func(tx store.Tx) error {
		ts, err := tx.Tenants()
		if err != nil {
			return err
		}
		for _, t := range ts {
			if q.tenant != "" && q.tenant != t.GUID && q.tenant != t.Name && q.tenant != t.Abbrev {
				continue
			}
			tenants++
			agents, err := tx.Agents(t.ID)
			if err != nil {
				return err
			}
			var tech *store.Tech
			if q.tech != "" {
				if tech, err = tx.TechByUsername(t.ID, q.tech); errors.Is(err, store.ErrNotFound) {
					continue
				} else if err != nil {
					return err
				}
			}
			for _, ag := range agents {
				if q.host != "" && q.host != ag.Name {
					continue
				}
				accs, err := tx.AccountsByAgent(t.ID, ag.ID)
				if err != nil {
					return err
				}
				for _, acc := range accs {
					if (q.account != "" && acc.Name != q.account) || (tech != nil && acc.TechID != tech.ID) {
						continue
					}
					vs, err := tx.Versions(t.ID, acc.ID)
					if err != nil {
						return err
					}
					for _, v := range recoveryVersions(vs, q.history) {
						files = append(files, file{recoveryFileName(t.Abbrev, ag.Name, acc.Name, v), v.Envelope})
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recovery export: %w", err)
	}
	if q.tenant != "" && tenants == 0 {
		return fmt.Errorf("recovery export: no tenant %q", q.tenant)
	}
	if len(files) == 0 {
		return errors.New("recovery export: no stored envelope matches")
	}
	seen := map[string]int{}
	for _, f := range files {
		name := f.name
		// Two names that differ only in characters a file name cannot keep must not overwrite each other.
		if n := seen[name]; n > 0 {
			name = strings.TrimSuffix(name, ".age") + "_" + strconv.Itoa(n+1) + ".age"
		}
		seen[f.name]++
		path := filepath.Join(dir, name)
		if !filepath.IsLocal(name) || filepath.Dir(path) != filepath.Clean(dir) {
			return fmt.Errorf("recovery export: file name %q would leave %s", name, dir)
		}
		if err := atomicfile.Write(path, f.data, 0o600); err != nil {
			return fmt.Errorf("recovery export: %w", err)
		}
		fmt.Fprintln(out, path)
	}
	fmt.Fprintf(out, "%d envelope(s) written; open one with: age -d -i RECOVERY-IDENTITY-FILE FILE (age v1.3.0 or later)\n", len(files))
	return nil
}

// recoveryVersions picks the versions to write from vs (newest first): every one with an envelope when history is
// set; otherwise the newest confirmed version and any staged version above it, since a staged password may
// already be set on the target when its confirmation never reached the hub.
func recoveryVersions(vs []store.Version, history bool) []store.Version {
	var out []store.Version
	for _, v := range vs {
		if len(v.Envelope) == 0 {
			continue
		}
		if history {
			out = append(out, v)
			continue
		}
		switch v.State {
		case wire.VersionStaged:
			out = append(out, v)
		case wire.VersionConfirmed:
			return append(out, v)
		}
	}
	return out
}

// recoveryFileName is TENANT_HOST_ACCOUNT_vN.age, with the version's state after N unless it is the confirmed one.
func recoveryFileName(tenant, host, account string, v store.Version) string {
	ver := "v" + strconv.FormatInt(v.Version, 10)
	if v.State != wire.VersionConfirmed {
		ver += "-" + safeName(string(v.State))
	}
	return safeName(tenant) + "_" + safeName(host) + "_" + safeName(account) + "_" + ver + ".age"
}

// safeName keeps the characters of s a file name on every system can hold (letters, digits, '.', '-', '_'),
// replaces the others with '-', and never starts with a dot, so "../x" or "a/b" stays one plain name.
func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64]
	}
	if out == "" {
		return "-"
	}
	return out
}
