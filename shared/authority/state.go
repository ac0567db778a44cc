package authority

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Admin is a console admin the log trusts to sign.
type Admin struct {
	Key  ed25519.PublicKey
	Role wire.Role
	Name string
	Org  string // a Co-managed Manager's organization
}

// Tech is an approved tech device.
type Tech struct {
	Username string
	// ShortName, when set (OpTechShortName), stands for the username in the tech's account names.
	ShortName string
	Org       string
	KeyID     string
	Recipient []byte // RecipientHash of the device's age recipient
}

// Agent is an enrolled agent.
type Agent struct {
	Name   string
	Driver string
	KeyID  string
	Key    ed25519.PublicKey // the agent's key, which signs the envelopes it stages (VerifyEnvelope)
}

// Group is a TechGroup or an AgentGroup. All holds every approved tech (AllTechs) or enrolled agent.
type Group struct {
	Name    string
	All     bool
	Members map[int64]bool
}

// Right names the target groups it grants, per driver kind.
type Right struct {
	Name    string
	Targets map[string][]string
}

// Triplet grants Right to the techs of TechGroup on the agents of AgentGroup.
type Triplet struct{ TechGroup, AgentGroup, Right int64 }

// Checkpoint is the newest point of the tenant's audit chain the admins signed (OpAuditCheckpoint): the event
// with sequence number Seq has hash Hash. Update is the authority update that signed it. The zero value: none yet.
type Checkpoint struct {
	Seq    int64
	Hash   []byte
	Update uint64
}

// State is what a tenant's log says after its last update. The zero State is before the genesis.
type State struct {
	Tenant   string
	Genesis  Hash
	Seq      uint64
	Head     Hash
	Admins   map[string]Admin // by key ID
	Recovery []byte           // RecipientHash of the recovery recipient
	Naming   string
	Abbrev   string
	Techs    map[int64]Tech
	Agents   map[int64]Agent

	TechGroups  map[int64]Group
	AgentGroups map[int64]Group
	Rights      map[int64]Right
	Triplets    map[int64]Triplet

	Audit Checkpoint // the newest signed point of the audit chain
}

// Started reports whether the state has a genesis.
func (s *State) Started() bool { return s != nil && !s.Genesis.IsZero() }

// clone copies the state deeply enough that applying ops to the copy leaves s unchanged.
func (s *State) clone() *State {
	c := *s
	c.Admins = maps.Clone(s.Admins)
	c.Techs = maps.Clone(s.Techs)
	c.Agents = maps.Clone(s.Agents)
	c.TechGroups = maps.Clone(s.TechGroups)
	c.AgentGroups = maps.Clone(s.AgentGroups)
	c.Rights = maps.Clone(s.Rights)
	c.Triplets = maps.Clone(s.Triplets)
	c.Audit.Hash = slices.Clone(s.Audit.Hash)
	if c.Admins == nil {
		c.Admins, c.Techs, c.Agents = map[string]Admin{}, map[int64]Tech{}, map[int64]Agent{}
		c.TechGroups, c.AgentGroups = map[int64]Group{}, map[int64]Group{}
		c.Rights, c.Triplets = map[int64]Right{}, map[int64]Triplet{}
	}
	return &c
}

// Apply checks u against s and returns the state after it. s is never changed; on error the caller keeps s.
//
// The genesis (Seq 0) must be signed by an owner it adds itself and must set the recovery recipient and the naming
// format. Every later update must name s's head as its parent and s's genesis, carry the next sequence number, and
// be signed by at least one admin of s whose role may make every one of its ops; no signature may be bad, and no
// key may sign twice.
func (s *State) Apply(u *Update) (*State, error) {
	enc, err := u.Encode()
	if err != nil {
		return nil, err
	}
	if u.Version != FormatVersion {
		return nil, fmt.Errorf("%w: update format %d", ErrVersion, u.Version)
	}
	if len(u.Ops) == 0 || len(u.Ops) > MaxOps || len(u.Sigs) == 0 || len(u.Sigs) > MaxSigs {
		return nil, fmt.Errorf("%w: update %d has %d operations and %d signatures", ErrMalformed, u.Seq, len(u.Ops), len(u.Sigs))
	}
	genesis := !s.Started()
	switch {
	case genesis && (u.Seq != 0 || len(u.Parent) != 0 || len(u.Genesis) != 0):
		return nil, fmt.Errorf("%w: the first update must be a genesis (sequence 0, no parent)", ErrMalformed)
	case !genesis && u.Tenant != s.Tenant:
		return nil, fmt.Errorf("%w: update for tenant %q, this log is %q's", ErrWrongTenant, u.Tenant, s.Tenant)
	case !genesis && !bytes.Equal(u.Genesis, s.Genesis[:]):
		return nil, fmt.Errorf("%w: update %d descends from another genesis", ErrWrongTenant, u.Seq)
	case !genesis && u.Seq <= s.Seq:
		return nil, fmt.Errorf("%w: update %d, already at %d", ErrRollback, u.Seq, s.Seq)
	case !genesis && u.Seq != s.Seq+1:
		return nil, fmt.Errorf("%w: update %d does not follow %d (missing updates)", ErrFork, u.Seq, s.Seq)
	case !genesis && !bytes.Equal(u.Parent, s.Head[:]):
		return nil, fmt.Errorf("%w: update %d's parent is not head %s", ErrFork, u.Seq, s.Head)
	case strings.TrimSpace(u.Tenant) == "":
		return nil, fmt.Errorf("%w: update names no tenant", ErrMalformed)
	}
	next := s.clone()
	signers := s.Admins
	if genesis {
		next.Tenant = u.Tenant
		// A genesis is signed by the owners it adds: apply its ops first, then check the signatures against them.
		for i, op := range u.Ops {
			if err := next.apply(op); err != nil {
				return nil, fmt.Errorf("genesis operation %d (%s): %w", i+1, op, err)
			}
		}
		signers = next.Admins
	}
	signed, err := verifySigs(u, signers)
	if err != nil {
		return nil, err
	}
	if genesis {
		if err := checkGenesis(next, signed); err != nil {
			return nil, err
		}
	} else {
		for i, op := range u.Ops {
			if err := authorize(op, s, signed); err != nil {
				return nil, fmt.Errorf("update %d operation %d (%s): %w", u.Seq, i+1, op, err)
			}
			if err := next.apply(op); err != nil {
				return nil, fmt.Errorf("update %d operation %d (%s): %w", u.Seq, i+1, op, err)
			}
		}
		if err := next.checkAdmins(); err != nil {
			return nil, fmt.Errorf("update %d: %w", u.Seq, err)
		}
	}
	if next.Audit.Seq != s.Audit.Seq {
		next.Audit.Update = u.Seq
	}
	next.Seq, next.Head = u.Seq, hashOf(enc)
	if genesis {
		next.Genesis = next.Head
	}
	return next, nil
}

// verifySigs checks every signature of u against the admins that may sign it and returns them.
func verifySigs(u *Update, admins map[string]Admin) ([]Admin, error) {
	msg, err := u.signedBytes()
	if err != nil {
		return nil, err
	}
	var out []Admin
	seen := map[string]bool{}
	for _, sg := range u.Sigs {
		if seen[sg.KeyID] {
			return nil, fmt.Errorf("%w: update %d signed twice by %s", ErrBadSignature, u.Seq, sg.KeyID)
		}
		seen[sg.KeyID] = true
		a, ok := admins[sg.KeyID]
		if !ok {
			return nil, fmt.Errorf("%w: update %d signed by %s, not an admin", ErrBadSignature, u.Seq, sg.KeyID)
		}
		if !ed25519.Verify(a.Key, msg, sg.Signature) {
			return nil, fmt.Errorf("%w: update %d: the signature of %s (%s) does not verify", ErrBadSignature, u.Seq, a.Name, sg.KeyID)
		}
		out = append(out, a)
	}
	return out, nil
}

func checkGenesis(s *State, signed []Admin) error {
	switch {
	case !slices.ContainsFunc(signed, func(a Admin) bool { return a.Role == wire.RoleOwner }):
		return fmt.Errorf("%w: the genesis must be signed by an owner it adds", ErrBadSignature)
	case len(s.Recovery) == 0:
		return fmt.Errorf("%w: the genesis must set the recovery recipient", ErrInvalidOp)
	case s.Naming == "":
		return fmt.Errorf("%w: the genesis must set the naming format", ErrInvalidOp)
	}
	return s.checkAdmins()
}

// checkAdmins keeps at least one owner: a log without one could never change its admins again.
func (s *State) checkAdmins() error {
	for _, a := range s.Admins {
		if a.Role == wire.RoleOwner {
			return nil
		}
	}
	return fmt.Errorf("%w: the last owner cannot be removed or demoted", ErrInvalidOp)
}

// authorize reports whether one of the signers may make op in state s.
func authorize(op Op, s *State, signed []Admin) error {
	perm, err := op.permission()
	if err != nil {
		return err
	}
	for _, a := range signed {
		if !a.Role.Can(perm) {
			continue
		}
		if a.Role == wire.RoleCoManager && !coManagerMay(op, s, a.Org) {
			continue
		}
		return nil
	}
	return fmt.Errorf("%w: no signer's role may do this", ErrBadSignature)
}

// coManagerMay limits a Co-managed Manager to its organization's techs, before and after the op.
func coManagerMay(op Op, s *State, org string) bool {
	if org == "" {
		return false
	}
	if t, ok := s.Techs[op.ID]; ok && t.Org != org {
		return false
	}
	return op.Kind == OpTechRemove || op.Org == org
}

// apply makes one op on s (a clone the caller owns).
func (s *State) apply(op Op) error {
	switch op.Kind {
	case OpAdminSet:
		if len(op.Key) != ed25519.PublicKeySize || !wire.Role(op.Role).Valid() {
			return fmt.Errorf("%w: an admin needs a 32-byte key and a known role", ErrInvalidOp)
		}
		if (wire.Role(op.Role) == wire.RoleCoManager) != (op.Org != "") {
			return fmt.Errorf("%w: only a Co-managed Manager, and every one, names an organization", ErrInvalidOp)
		}
		s.Admins[seal.KeyID(op.Key)] = Admin{Key: slices.Clone(op.Key), Role: wire.Role(op.Role), Name: op.Name, Org: op.Org}
	case OpAdminRemove:
		if _, ok := s.Admins[op.KeyID]; !ok {
			return fmt.Errorf("%w: no admin %s", ErrInvalidOp, op.KeyID)
		}
		delete(s.Admins, op.KeyID)
	case OpRecoverySet:
		if len(op.Recipient) != 32 {
			return fmt.Errorf("%w: a recovery recipient hash is 32 bytes", ErrInvalidOp)
		}
		s.Recovery = slices.Clone(op.Recipient)
	case OpNamingSet:
		if !strings.Contains(op.Name, "{username") {
			return fmt.Errorf("%w: naming format %q lacks {username}", ErrInvalidOp, op.Name)
		}
		s.Naming, s.Abbrev = op.Name, op.Abbrev
	case OpTechApprove:
		if op.ID <= 0 || op.Name == "" || len(op.Key) != ed25519.PublicKeySize || len(op.Recipient) != 32 {
			return fmt.Errorf("%w: a tech approval needs an ID, a username, a key and a recipient hash", ErrInvalidOp)
		}
		if id, ok := s.nameHolder(op.ID, op.Name); ok {
			return fmt.Errorf("%w: username %q is tech %d's", ErrInvalidOp, op.Name, id)
		}
		// A replacement device keeps the tech's short name: it is the tech's, not the device's.
		s.Techs[op.ID] = Tech{Username: op.Name, ShortName: s.Techs[op.ID].ShortName, Org: op.Org, KeyID: seal.KeyID(op.Key),
			Recipient: slices.Clone(op.Recipient)}
	case OpTechShortName:
		t, ok := s.Techs[op.ID]
		if !ok {
			return fmt.Errorf("%w: tech %d has no signed approval", ErrInvalidOp, op.ID)
		}
		if op.Name != "" {
			if err := entitle.CheckShortName(op.Name); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalidOp, err)
			}
			// Two techs whose names render from the same text would share an account on a target: one could be
			// handed the other's password.
			if id, ok := s.nameHolder(op.ID, op.Name); ok {
				return fmt.Errorf("%w: %q is tech %d's username or short name", ErrInvalidOp, op.Name, id)
			}
		}
		t.ShortName = op.Name
		s.Techs[op.ID] = t
	case OpTechRemove:
		delete(s.Techs, op.ID)
	case OpAgentEnroll:
		if op.ID <= 0 || op.Driver == "" || len(op.Key) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: an agent enrolment needs an ID, a driver and a key", ErrInvalidOp)
		}
		s.Agents[op.ID] = Agent{Name: op.Name, Driver: op.Driver, KeyID: seal.KeyID(op.Key), Key: slices.Clone(op.Key)}
	case OpAgentRemove:
		delete(s.Agents, op.ID)
	case OpGroupSet:
		groups, err := s.groups(op.Group)
		if err != nil {
			return err
		}
		if op.ID <= 0 {
			return fmt.Errorf("%w: a group needs an ID", ErrInvalidOp)
		}
		m := make(map[int64]bool, len(op.Members))
		for _, id := range op.Members {
			m[id] = true
		}
		groups[op.ID] = Group{Name: op.Name, All: op.All, Members: m}
	case OpGroupRemove:
		groups, err := s.groups(op.Group)
		if err != nil {
			return err
		}
		for id, t := range s.Triplets {
			if op.Group == TechGroup && t.TechGroup == op.ID || op.Group == AgentGroup && t.AgentGroup == op.ID {
				return fmt.Errorf("%w: triplet %d still uses the group", ErrInvalidOp, id)
			}
		}
		delete(groups, op.ID)
	case OpRightSet:
		if op.ID <= 0 {
			return fmt.Errorf("%w: a right needs an ID", ErrInvalidOp)
		}
		s.Rights[op.ID] = Right{Name: op.Name, Targets: op.Targets}
	case OpRightRemove:
		for id, t := range s.Triplets {
			if t.Right == op.ID {
				return fmt.Errorf("%w: triplet %d still uses the right", ErrInvalidOp, id)
			}
		}
		delete(s.Rights, op.ID)
	case OpTripletSet:
		_, tg := s.TechGroups[op.TechGroup]
		_, ag := s.AgentGroups[op.AgentGroup]
		_, r := s.Rights[op.Right]
		if op.ID <= 0 || !tg || !ag || !r {
			return fmt.Errorf("%w: a triplet needs an ID and a signed tech group, agent group and right", ErrInvalidOp)
		}
		s.Triplets[op.ID] = Triplet{TechGroup: op.TechGroup, AgentGroup: op.AgentGroup, Right: op.Right}
	case OpTripletRemove:
		delete(s.Triplets, op.ID)
	case OpAuditCheckpoint:
		// The audit chain only grows: a checkpoint behind the newest one, or another hash at the same event, would
		// let a rewritten history be signed over the honest one.
		switch {
		case op.ID <= 0 || len(op.Hash) != sha256.Size:
			return fmt.Errorf("%w: an audit checkpoint needs an event number and a 32-byte hash", ErrInvalidOp)
		case op.ID < s.Audit.Seq:
			return fmt.Errorf("%w: audit checkpoint at event %d is behind the one at event %d", ErrInvalidOp, op.ID, s.Audit.Seq)
		case op.ID == s.Audit.Seq && !bytes.Equal(op.Hash, s.Audit.Hash):
			return fmt.Errorf("%w: audit event %d was signed with another hash", ErrInvalidOp, op.ID)
		}
		s.Audit = Checkpoint{Seq: op.ID, Hash: slices.Clone(op.Hash), Update: s.Audit.Update}
	default:
		_, err := op.permission()
		return err
	}
	return nil
}

// nameHolder returns a tech other than self whose username or short name is name.
func (s *State) nameHolder(self int64, name string) (int64, bool) {
	for id, t := range s.Techs {
		if id != self && (t.Username == name || t.ShortName == name) {
			return id, true
		}
	}
	return 0, false
}

func (s *State) groups(kind string) (map[int64]Group, error) {
	switch kind {
	case TechGroup:
		return s.TechGroups, nil
	case AgentGroup:
		return s.AgentGroups, nil
	}
	return nil, fmt.Errorf("%w: group kind %q", ErrInvalidOp, kind)
}

// Granted returns the rights the signed state grants tech on agent: the union over the triplets whose tech group
// holds the tech and whose agent group holds the agent. Only approved techs and enrolled agents hold anything.
func (s *State) Granted(tech, agent int64) []int64 {
	if _, ok := s.Techs[tech]; !ok {
		return nil
	}
	if _, ok := s.Agents[agent]; !ok {
		return nil
	}
	var out []int64
	for _, t := range s.Triplets {
		if holds(s.TechGroups[t.TechGroup], tech) && holds(s.AgentGroups[t.AgentGroup], agent) {
			out = append(out, t.Right)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func holds(g Group, id int64) bool { return g.All || g.Members[id] }

// errs joins many failures into one error that keeps them all (Unwrap() []error).
func errs(list []error) error { return errors.Join(list...) }
