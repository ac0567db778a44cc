package authority

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// OpKind says what an operation changes. Numbers are part of the format: never reuse one.
type OpKind int

const (
	OpAdminSet      OpKind = 1  // add an admin or change its role: Key, Role, Name, Org
	OpAdminRemove   OpKind = 2  // KeyID
	OpRecoverySet   OpKind = 3  // Recipient: the hash of the tenant's recovery recipient
	OpNamingSet     OpKind = 4  // Name: the naming format; Abbrev: the tenant's abbreviation
	OpTechApprove   OpKind = 5  // ID, Name (username), Org, Key (auth key), Recipient (hash of its age recipient)
	OpTechRemove    OpKind = 6  // ID
	OpAgentEnroll   OpKind = 7  // ID, Name, Driver, Key
	OpAgentRemove   OpKind = 8  // ID
	OpGroupSet      OpKind = 9  // ID, Group (tech or agent), Name, All, Members
	OpGroupRemove   OpKind = 10 // ID, Group
	OpRightSet      OpKind = 11 // ID, Name, Targets (driver → group names)
	OpRightRemove   OpKind = 12 // ID
	OpTripletSet    OpKind = 13 // ID, TechGroup, AgentGroup, Right
	OpTripletRemove OpKind = 14 // ID
	// OpAuditCheckpoint: the event with sequence number ID of the tenant's audit chain has hash Hash (the 32
	// bytes of its hex hash). Each event's hash covers its predecessor's, so this pins every event up to ID.
	OpAuditCheckpoint OpKind = 15
	// OpTechShortName: ID (an approved tech), Name: the short name that stands for the tech's username in its
	// account names (entitle.Base); empty takes it away.
	OpTechShortName OpKind = 16
)

// Group kinds of OpGroupSet and OpGroupRemove.
const (
	TechGroup  = "tech"
	AgentGroup = "agent"
)

// Op is one operation of an update. Which fields it uses depends on Kind (see the OpKind constants); the
// constructors below fill the right ones.
type Op struct {
	Kind       OpKind              `cbor:"1,keyasint"`
	ID         int64               `cbor:"2,keyasint,omitempty"`
	Name       string              `cbor:"3,keyasint,omitempty"`
	Key        []byte              `cbor:"4,keyasint,omitempty"`
	KeyID      string              `cbor:"5,keyasint,omitempty"`
	Recipient  []byte              `cbor:"6,keyasint,omitempty"`
	Role       string              `cbor:"7,keyasint,omitempty"`
	Org        string              `cbor:"8,keyasint,omitempty"`
	Abbrev     string              `cbor:"9,keyasint,omitempty"`
	Driver     string              `cbor:"10,keyasint,omitempty"`
	Group      string              `cbor:"11,keyasint,omitempty"`
	All        bool                `cbor:"12,keyasint,omitempty"`
	Members    []int64             `cbor:"13,keyasint,omitempty"`
	Targets    map[string][]string `cbor:"14,keyasint,omitempty"`
	TechGroup  int64               `cbor:"15,keyasint,omitempty"`
	AgentGroup int64               `cbor:"16,keyasint,omitempty"`
	Right      int64               `cbor:"17,keyasint,omitempty"`
	Hash       []byte              `cbor:"18,keyasint,omitempty"`
}

// RecipientHash is how the log names an age recipient: a hybrid recipient is about 2,000 characters, its hash 32
// bytes, and a verifier hashes the recipient the hub hands it to compare.
func RecipientHash(recipient string) []byte {
	h := sha256.Sum256([]byte("watchword/authority/v1 recipient\n" + recipient))
	return h[:]
}

// SetAdmin adds an admin (or changes its role and organization).
func SetAdmin(key ed25519.PublicKey, role wire.Role, name, org string) Op {
	return Op{Kind: OpAdminSet, Key: key, Role: string(role), Name: name, Org: org}
}

// RemoveAdmin removes the admin whose key has this ID.
func RemoveAdmin(keyID string) Op { return Op{Kind: OpAdminRemove, KeyID: keyID} }

// SetRecovery names the tenant's recovery recipient (an age1pq1… string).
func SetRecovery(recipient string) Op {
	return Op{Kind: OpRecoverySet, Recipient: RecipientHash(recipient)}
}

// SetNaming sets the naming format and the tenant's abbreviation its {abbrev} stands for.
func SetNaming(format, abbrev string) Op { return Op{Kind: OpNamingSet, Name: format, Abbrev: abbrev} }

// ApproveTech approves a tech's device key: the tech's ID at the hub, its username and organization, and the key
// (its auth key and age recipient). Approving a replacement device is the same operation with the new key.
func ApproveTech(id int64, username, org string, key *seal.PublicKey) Op {
	return Op{Kind: OpTechApprove, ID: id, Name: username, Org: org, Key: key.AuthKey(),
		Recipient: RecipientHash(key.Recipient().String())}
}

// SetTechShortName sets (or, with "", takes away) the short name tech id's account names are rendered from
// instead of its username.
func SetTechShortName(id int64, short string) Op {
	return Op{Kind: OpTechShortName, ID: id, Name: short}
}

// RemoveTech withdraws a tech's approval (deactivated, rejected or deleted).
func RemoveTech(id int64) Op { return Op{Kind: OpTechRemove, ID: id} }

// EnrollAgent approves an agent's key for the agent with this ID, name and driver kind.
func EnrollAgent(id int64, name, driver string, key ed25519.PublicKey) Op {
	return Op{Kind: OpAgentEnroll, ID: id, Name: name, Driver: driver, Key: key}
}

// RemoveAgent withdraws an agent's enrolment (retired or disabled).
func RemoveAgent(id int64) Op { return Op{Kind: OpAgentRemove, ID: id} }

// SetGroup sets a TechGroup's or AgentGroup's name and members; all makes it hold every approved member.
func SetGroup(kind string, id int64, name string, all bool, members []int64) Op {
	m := slices.Clone(members)
	slices.Sort(m)
	return Op{Kind: OpGroupSet, Group: kind, ID: id, Name: name, All: all, Members: slices.Compact(m)}
}

// RemoveGroup removes a group (its triplets must be removed in the same or an earlier update).
func RemoveGroup(kind string, id int64) Op { return Op{Kind: OpGroupRemove, Group: kind, ID: id} }

// SetRight sets a right's name and the target groups it grants per driver kind.
func SetRight(id int64, name string, targets map[string][]string) Op {
	t := map[string][]string{}
	for d, gs := range targets {
		g := slices.Clone(gs)
		slices.Sort(g)
		t[d] = slices.Compact(g)
	}
	return Op{Kind: OpRightSet, ID: id, Name: name, Targets: t}
}

// RemoveRight removes a right.
func RemoveRight(id int64) Op { return Op{Kind: OpRightRemove, ID: id} }

// SetTriplet grants a right to a TechGroup on an AgentGroup.
func SetTriplet(id, techGroup, agentGroup, right int64) Op {
	return Op{Kind: OpTripletSet, ID: id, TechGroup: techGroup, AgentGroup: agentGroup, Right: right}
}

// RemoveTriplet removes a triplet.
func RemoveTriplet(id int64) Op { return Op{Kind: OpTripletRemove, ID: id} }

// AuditCheckpoint attests that the audit event with sequence number seq of the tenant's chain has hash hash (the
// 32 bytes of the event's hex hash, as the hub's audit answer carries it). An admin signs one after verifying the
// chain: from then on a rewrite of any event up to seq changes the event at seq and shows against the signature.
func AuditCheckpoint(seq int64, hash []byte) Op {
	return Op{Kind: OpAuditCheckpoint, ID: seq, Hash: slices.Clone(hash)}
}

// permission is what a signer's role must allow for the op; a Co-managed Manager may approve and remove only its
// own organization's techs (checked in apply).
func (o Op) permission() (wire.Permission, error) {
	switch o.Kind {
	case OpAdminSet, OpAdminRemove, OpRecoverySet:
		return wire.PermManageAdmins, nil
	case OpTechApprove, OpTechRemove:
		return wire.PermManageTechs, nil
	case OpNamingSet, OpTechShortName, OpAgentEnroll, OpAgentRemove, OpGroupSet, OpGroupRemove, OpRightSet, OpRightRemove,
		OpTripletSet, OpTripletRemove:
		return wire.PermChange, nil
	case OpAuditCheckpoint:
		// Whoever may read and verify the audit log may attest what it read; a checkpoint widens no access.
		return wire.PermReadAll, nil
	}
	return 0, fmt.Errorf("%w: unknown kind %d (a newer Watchword wrote it: upgrade this one)", ErrInvalidOp, o.Kind)
}

func (o Op) String() string {
	switch o.Kind {
	case OpAdminSet:
		return fmt.Sprintf("admin %s %q as %s", seal.KeyID(o.Key), o.Name, wire.Role(o.Role).Title())
	case OpAdminRemove:
		return "remove admin " + o.KeyID
	case OpRecoverySet:
		return "recovery recipient " + shortHex(o.Recipient)
	case OpNamingSet:
		return fmt.Sprintf("naming %q abbreviation %q", o.Name, o.Abbrev)
	case OpTechApprove:
		return fmt.Sprintf("approve tech %d %q key %s", o.ID, o.Name, seal.KeyID(o.Key))
	case OpTechRemove:
		return fmt.Sprintf("remove tech %d", o.ID)
	case OpTechShortName:
		if o.Name == "" {
			return fmt.Sprintf("tech %d: no short name", o.ID)
		}
		return fmt.Sprintf("tech %d: short name %q", o.ID, o.Name)
	case OpAgentEnroll:
		return fmt.Sprintf("enroll agent %d %q (%s) key %s", o.ID, o.Name, o.Driver, seal.KeyID(o.Key))
	case OpAgentRemove:
		return fmt.Sprintf("remove agent %d", o.ID)
	case OpGroupSet:
		return fmt.Sprintf("%s group %d %q: %d members", o.Group, o.ID, o.Name, len(o.Members))
	case OpGroupRemove:
		return fmt.Sprintf("remove %s group %d", o.Group, o.ID)
	case OpRightSet:
		return fmt.Sprintf("right %d %q", o.ID, o.Name)
	case OpRightRemove:
		return fmt.Sprintf("remove right %d", o.ID)
	case OpTripletSet:
		return fmt.Sprintf("triplet %d: tech group %d × agent group %d × right %d", o.ID, o.TechGroup, o.AgentGroup, o.Right)
	case OpTripletRemove:
		return fmt.Sprintf("remove triplet %d", o.ID)
	case OpAuditCheckpoint:
		return fmt.Sprintf("audit checkpoint: event %d is %s", o.ID, shortHex(o.Hash))
	}
	return fmt.Sprintf("operation of kind %d", o.Kind)
}

func shortHex(b []byte) string {
	if len(b) > 8 {
		b = b[:8]
	}
	return fmt.Sprintf("%x", b)
}
