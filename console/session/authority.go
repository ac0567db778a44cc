package session

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/authority"
)

// ChainFile is the file in the config directory that keeps the signed authority this Console verified, so that a
// restarted Console still refuses a head older than the one it saw (the anchor itself is in console.json).
const ChainFile = "authority.cbor"

// useAuthority hands the view-model the admin's signing key and the chain this Console verified before, pinned
// to the anchor console.json names. A demo keeps its chain in memory. A kept chain that does not verify, or is
// another anchor's, is dropped: the Console verifies again from the anchor, which only the admin sets.
func (s *Session) useAuthority(ls *local.Session) {
	signer := ls.Identity.Signer()
	if s.o.Demo {
		s.app.UseAuthority(signer, nil, nil)
		return
	}
	dir, err := s.Dir()
	if err != nil {
		s.app.UseAuthority(signer, nil, nil)
		return
	}
	guid := ls.Client.ClientGUID()
	chain := loadChain(dir, guid)
	save := func(c *authority.Chain) error {
		b, err := c.MarshalBinary()
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, ChainFile), b, 0o600); err != nil {
			return err
		}
		genesis := c.Anchor().Genesis.String()
		if cfg, err := local.LoadConfig(dir); err == nil && cfg.Authority == genesis {
			return nil
		}
		return local.PinAuthority(dir, genesis)
	}
	s.app.UseAuthority(signer, chain, save)
}

// loadChain is the chain pinned in dir's console.json for tenant guid, with the updates kept beside it verified
// again; nil when none is pinned.
func loadChain(dir, guid string) *authority.Chain {
	cfg, err := local.LoadConfig(dir)
	if err != nil || cfg.Authority == "" {
		return nil
	}
	genesis, err := authority.ParseHash(cfg.Authority)
	if err != nil {
		return nil
	}
	anchor := authority.Anchor{Tenant: guid, Genesis: genesis}
	b, err := os.ReadFile(filepath.Join(dir, ChainFile))
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return authority.NewChain(anchor)
	}
	c, err := authority.LoadChain(b)
	if err != nil || c.Anchor() != anchor {
		return authority.NewChain(anchor)
	}
	return c
}
