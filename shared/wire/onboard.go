package wire

// PathAdminOnboard runs the co-managed onboarding of one client organization in one step.
const PathAdminOnboard = "/v1/admin/onboard"

// OnboardRequest separates a client organization's co-managed techs from the MSP's own, as the co-managed tech guide's steps 4–11
// do by hand: a TechGroup for the co-managed techs, a TechGroup for the MSP techs, an AgentGroup for the client's
// domains, a triplet for each TechGroup (the co-managed one on the client's domains only, the MSP one on
// AllDomains), deletion of the All triplet, and, last, activation of the co-managed techs. The hub applies it in
// one transaction: all of it or none of it.
//
// Onboarding an organization again extends it: when CoManagedGroup names an existing TechGroup of that
// organization's techs, the new co-managed techs join it, the domains join DomainGroup (existing, already granted
// to that TechGroup, or new), the missing triplets are made and the pending techs are activated last, as the first
// time. A TechGroup holding anyone else, or granted anything on AllDomains, is not extended.
type OnboardRequest struct {
	Organization string `json:"organization"`
	// CoManagedGroup names the TechGroup of the co-managed techs (new, or the organization's to extend);
	// CoManagedTechs join it, pending or active techs whose organization is Organization.
	CoManagedGroup string  `json:"coManagedGroup"`
	CoManagedTechs []int64 `json:"coManagedTechs"`
	// MSPGroup names the TechGroup of the MSP's own techs: created when no TechGroup has that name, reused (and its
	// triplet on AllDomains kept) when an earlier onboarding made it. MSPTechs join it; they must have no
	// organization.
	MSPGroup string  `json:"mspGroup"`
	MSPTechs []int64 `json:"mspTechs"`
	// DomainGroup names the AgentGroup of the client's domains (new, or when extending the one the co-managed
	// TechGroup is granted), Domains the agents that join it.
	DomainGroup string  `json:"domainGroup"`
	Domains     []int64 `json:"domains"`
	// RightID is the right both triplets grant; 0 means AllRights.
	RightID int64 `json:"rightId,omitempty"`
}

// OnboardResponse is what the onboarding did.
type OnboardResponse struct {
	CoManagedGroup    Group     `json:"coManagedGroup"`
	MSPGroup          Group     `json:"mspGroup"`
	DomainGroup       Group     `json:"domainGroup"`
	Triplets          []Triplet `json:"triplets"`           // the triplets created (the MSP one only when new)
	DeletedAllTriplet bool      `json:"deletedAllTriplet"`  // false when an earlier onboarding had deleted it
	Activated         []Tech    `json:"activated"`          // co-managed techs that were pending, now active
	Extended          bool      `json:"extended,omitempty"` // the organization was onboarded before: its groups grew
}
