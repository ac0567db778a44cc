package wire

import "time"

// CSV import of techs. An admin downloads the template, fills one row per tech and posts the
// file. Each good row reserves a username with its organization, email and tech groups: the tech is pending-match
// until a device registers under that username, then it is an ordinary pending tech already in its groups. Rows
// that cannot be imported come back as exceptions with their reason. In ImportAtomic mode one exception refuses the
// whole file; in ImportPerRow mode the good rows are imported. Every import is kept in the history.
const (
	PathAdminTechImports         = "/v1/admin/tech-imports" // GET history, POST import
	PathAdminTechImportTemplate  = "/v1/admin/tech-imports/template"
	PathAdminTechReservations    = "/v1/admin/tech-reservations"
	ImportAtomic                 = "atomic"
	ImportPerRow                 = "per-row"
	MaxImportRows                = 5000
	TechStatusPendingMatch       = "pending-match" // a reservation no device has registered under yet
	ImportTemplateHeader         = "username,display_name,email,organization,groups"
	ImportTemplateGroupSeparator = ";"
)

// ImportRequest imports a CSV file of techs.
type ImportRequest struct {
	CSV  string `json:"csv"`
	Mode string `json:"mode"` // ImportAtomic or ImportPerRow
}

// ImportException is one row that was not imported.
type ImportException struct {
	Row      int    `json:"row"` // 1-based line of the file, the header being row 1
	Username string `json:"username,omitempty"`
	Field    string `json:"field,omitempty"`
	Reason   string `json:"reason"`
}

// Import is one import of the history.
type Import struct {
	ID         int64             `json:"id"`
	AdminID    int64             `json:"adminId"`
	Mode       string            `json:"mode"`
	Rows       int               `json:"rows"`    // data rows read
	Created    int               `json:"created"` // reservations made
	Exceptions []ImportException `json:"exceptions"`
	CreatedAt  time.Time         `json:"createdAt"`
}

// ImportsResponse is the import history, newest first.
type ImportsResponse struct {
	Imports []Import `json:"imports"`
}

// ImportTemplate is the CSV template to download.
type ImportTemplate struct {
	Filename string `json:"filename"`
	CSV      string `json:"csv"`
}

// Reservation is a tech pre-created by an import.
type Reservation struct {
	ID           int64     `json:"id"`
	ImportID     int64     `json:"importId"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"displayName"`
	Email        string    `json:"email"`
	Organization string    `json:"organization,omitempty"`
	Groups       []string  `json:"groups"`
	Status       string    `json:"status"` // TechStatusPendingMatch, or matched
	TechID       int64     `json:"techId,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	MatchedAt    time.Time `json:"matchedAt,omitzero"`
}

// TechReservation is, on a tech waiting for approval, the reservation it registered under: the tech carries the
// reservation's display name, email and organization, and Typed* say what the device typed instead (the email
// differs at most in case: a registration matches a reservation only with its email). Groups are the TechGroups
// the tech joins when approved.
type TechReservation struct {
	ImportID          int64    `json:"importId"`
	Groups            []string `json:"groups"`
	TypedDisplayName  string   `json:"typedDisplayName"`
	TypedEmail        string   `json:"typedEmail"`
	TypedOrganization string   `json:"typedOrganization,omitempty"`
}

// ReservationsResponse lists reservations.
type ReservationsResponse struct {
	Reservations []Reservation `json:"reservations"`
}
