package wire

// PathAdminOnboard runs the co-managed onboarding of one client organization in one step.
const PathAdminOnboard = "/v1/admin/onboard"

// OnboardRequest separates a client organization's co-managed techs from the MSP's own, as the co-managed tech guide's steps 4–11
// do by hand: a TechGroup for the co-managed techs, a TechGroup for the MSP techs, an AgentGroup for the client's
// domains, a triplet for each TechGroup (the co-managed one on the client's domains only, the MSP one on
// AllDomains), deletion of the All triplet, and, last, activation of the co-managed techs. The hub applies it in
// one transaction: all of it or none of it.
type OnboardRequest struct {
	Organization string `json:"organization"`
	// CoManagedGroup names the new TechGroup of the co-managed techs; CoManagedTechs are its members, pending or
	// active techs whose organization is Organization.
	CoManagedGroup string  `json:"coManagedGroup"`
	CoManagedTechs []int64 `json:"coManagedTechs"`
	// MSPGroup names the TechGroup of the MSP's own techs: created when no TechGroup has that name, reused (and its
	// triplet on AllDomains kept) when an earlier onboarding made it. MSPTechs join it; they must have no
	// organization.
	MSPGroup string  `json:"mspGroup"`
	MSPTechs []int64 `json:"mspTechs"`
	// DomainGroup names the new AgentGroup of the client's domains, Domains its agents.
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
	Triplets          []Triplet `json:"triplets"`          // the triplets created (the MSP one only when new)
	DeletedAllTriplet bool      `json:"deletedAllTriplet"` // false when an earlier onboarding had deleted it
	Activated         []Tech    `json:"activated"`         // co-managed techs that were pending, now active
}
