package wire

// What each console role may do, in one table: the hub's route access classes and the Console's enabled actions
// both read it, so a role cannot be allowed a button the hub refuses, or the other way round.

// Permission is something a console role may do.
type Permission int

const (
	// PermSignIn: use the Console at all, reading what the role's scope shows (every role).
	PermSignIn Permission = iota
	// PermReadAll: read the whole tenant (groups, rights, triplets, accounts, effective access, audit, admins).
	PermReadAll
	// PermManageTechs: approve, reject, deactivate and unlock techs and decide device replacements (a
	// Co-managed Manager: only its organization's).
	PermManageTechs
	// PermChange: change the tenant's configuration (groups, rights, triplets, policy, agents).
	PermChange
	// PermManageAdmins: invite, approve, remove and change the role of console admins.
	PermManageAdmins
)

// Roles lists the console roles in the order screens offer them.
var Roles = []Role{RoleOwner, RoleAdmin, RoleAuditor, RoleCoManager}

var rolePermissions = map[Role][]Permission{
	RoleOwner:     {PermSignIn, PermReadAll, PermManageTechs, PermChange, PermManageAdmins},
	RoleAdmin:     {PermSignIn, PermReadAll, PermManageTechs, PermChange},
	RoleAuditor:   {PermSignIn, PermReadAll},
	RoleCoManager: {PermSignIn, PermManageTechs},
}

var roleTitles = map[Role]string{
	RoleOwner:     "Owner",
	RoleAdmin:     "Administrator",
	RoleAuditor:   "Auditor",
	RoleCoManager: "Co-managed Manager",
}

// Can reports whether the role has the permission; an unknown role has none.
func (r Role) Can(p Permission) bool {
	for _, q := range rolePermissions[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Title is the role's name as people read it ("Co-managed Manager"); an unknown role is shown as it is.
func (r Role) Title() string {
	if t, ok := roleTitles[r]; ok {
		return t
	}
	return string(r)
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { _, ok := rolePermissions[r]; return ok }
