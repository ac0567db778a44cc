package authority

import (
	"fmt"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Anchor is what a verifier pins out of band, never from the hub: the tenant and the hash of its genesis. An agent
// gets it in the enrolment command the Console prints, a TechClient in its invite.
type Anchor struct {
	Tenant  string
	Genesis Hash
}

// Chain is one verifier's position in a tenant's log: the anchor, every update it verified (the hashes, to tell a
// replay from a fork) and the state they replay to. A Chain is safe for concurrent use.
type Chain struct {
	anchor Anchor

	mu       sync.Mutex
	state    *State
	hashes   []Hash   // hashes[seq]
	encoded  [][]byte // the verified updates, to persist and replay
	memoHash map[int64]memo
}

// NewChain starts a verifier pinned to anchor, before any update.
func NewChain(a Anchor) *Chain { return &Chain{anchor: a, state: &State{}} }

// Anchor returns the pinned anchor.
func (c *Chain) Anchor() Anchor { return c.anchor }

// State returns the verified state; nil before the genesis. The caller must not change it.
func (c *Chain) State() *State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.state.Started() {
		return nil
	}
	return c.state
}

// Head returns the sequence number and hash of the newest verified update (0 and the zero hash before any).
func (c *Chain) Head() (uint64, Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.Seq, c.state.Head
}

// Advance verifies encoded updates in order and applies those past the head. An update the chain already holds is
// skipped when its hash is the one verified at that sequence number; one that differs is a fork. The first update
// must be the pinned genesis. On error the chain keeps every update verified before the bad one.
func (c *Chain) Advance(encoded ...[]byte) (applied int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range encoded {
		u, err := Decode(b)
		if err != nil {
			return applied, err
		}
		h := hashOf(b)
		if u.Seq < uint64(len(c.hashes)) {
			if c.hashes[u.Seq] != h {
				return applied, fmt.Errorf("%w: update %d is %s, %s was verified", ErrFork, u.Seq, h, c.hashes[u.Seq])
			}
			continue
		}
		if u.Seq == 0 && (u.Tenant != c.anchor.Tenant || h != c.anchor.Genesis) {
			return applied, fmt.Errorf("%w: genesis %s of tenant %q, pinned %s of %q", ErrWrongTenant, h, u.Tenant, c.anchor.Genesis, c.anchor.Tenant)
		}
		next, err := c.state.Apply(u)
		if err != nil {
			return applied, err
		}
		c.state, c.hashes, c.encoded = next, append(c.hashes, h), append(c.encoded, b)
		applied++
	}
	return applied, nil
}

// CheckHead compares a head the hub announces with what the chain verified: an older sequence number is a rollback
// unless its hash is the one verified there, a same or older one with another hash is a fork. A newer head is fine:
// the caller fetches the updates after its own and Advances.
func (c *Chain) CheckHead(seq uint64, h Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case seq < uint64(len(c.hashes)) && c.hashes[seq] != h:
		return fmt.Errorf("%w: the hub's update %d is %s, %s was verified", ErrFork, seq, h, c.hashes[seq])
	case len(c.hashes) > 0 && seq < c.state.Seq:
		return fmt.Errorf("%w: the hub is at update %d, %d was verified", ErrRollback, seq, c.state.Seq)
	}
	return nil
}

// persisted is a chain on disk: the anchor and the updates, replayed (and so verified again) on load.
type persisted struct {
	Tenant  string   `cbor:"1,keyasint"`
	Genesis []byte   `cbor:"2,keyasint"`
	Updates [][]byte `cbor:"3,keyasint"`
}

// MarshalBinary returns the chain to keep on disk.
func (c *Chain) MarshalBinary() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return encMode.Marshal(persisted{Tenant: c.anchor.Tenant, Genesis: c.anchor.Genesis[:], Updates: c.encoded})
}

// LoadChain reads a chain MarshalBinary wrote and verifies every update again from the anchor it holds; a caller
// that knows the anchor it expects compares it with Anchor.
func LoadChain(b []byte) (*Chain, error) {
	var p persisted
	dm, err := cbor.DecOptions{MaxArrayElements: 1 << 20}.DecMode()
	if err != nil {
		return nil, err
	}
	if err := dm.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: stored chain: %v", ErrMalformed, err)
	}
	var a Anchor
	if len(p.Genesis) != len(a.Genesis) {
		return nil, fmt.Errorf("%w: stored chain has no genesis hash", ErrMalformed)
	}
	a.Tenant = p.Tenant
	copy(a.Genesis[:], p.Genesis)
	c := NewChain(a)
	if _, err := c.Advance(p.Updates...); err != nil {
		return nil, fmt.Errorf("stored chain: %w", err)
	}
	return c, nil
}
