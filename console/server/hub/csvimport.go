package hub

// CSV import of techs (TechIDManager's management-first style).
//
// parseTechCSV is pure (fuzzed by FuzzParseTechCSV): it turns the file into rows and per-row exceptions for what a
// row says on its own — field count, username charset, email form, lengths, formula-injection cells (a cell a
// spreadsheet would evaluate: starting with =, +, -, @, tab or carriage return, as in `=cmd|' /C calc'!A0`). The
// handler then checks each row against the tenant — duplicate usernames (in the file, among techs, among earlier
// reservations), unknown organizations and groups — and, in one transaction, records the import in the history and
// reserves the good rows (per-row mode) or all rows only if none failed (atomic mode).

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// importRow is one parsed data row.
type importRow struct {
	line         int
	username     string
	displayName  string
	email        string
	organization string
	groups       []string
}

var importColumns = strings.Split(wire.ImportTemplateHeader, ",")

// importTemplate is the file the Console offers to download.
const importTemplate = wire.ImportTemplateHeader + "\r\n" +
	"jdoe,Jane Doe,jane.doe@example.com,,Helpdesk\r\n" +
	"asmith,Alex Smith,alex.smith@client.example,Client Ltd,Client Ltd techs;Night shift\r\n"

var errImportHeader = wire.Invalid("csv", "the first line must be the template's header: %s", wire.ImportTemplateHeader)

// formulaCell reports a cell a spreadsheet would evaluate.
func formulaCell(s string) bool {
	return s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0]))
}

// checkCell validates one cell's text: valid UTF-8, printable, within max runes, no formula.
func checkCell(field, s string, max int) (string, *wire.ImportException) {
	if formulaCell(s) {
		return "", &wire.ImportException{Field: field, Reason: "formula-like cell refused (starts with =, +, -, @, tab or CR)"}
	}
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", &wire.ImportException{Field: field, Reason: "not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &wire.ImportException{Field: field, Reason: fmt.Sprintf("too long: %d characters, at most %d", n, max)}
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return "", &wire.ImportException{Field: field, Reason: "contains control characters"}
		}
	}
	return s, nil
}

// parseTechCSV reads an import file. A file-level problem (no header, broken quoting, too many rows) is an error;
// a row-level one is an exception of that row. Every data row ends up in exactly one of rows and exceptions.
func parseTechCSV(data string) ([]importRow, []wire.ImportException, error) {
	data = strings.TrimPrefix(data, "\ufeff") // a spreadsheet's byte-order mark
	cr := csv.NewReader(strings.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, nil, errImportHeader
	}
	if len(header) != len(importColumns) {
		return nil, nil, errImportHeader
	}
	for i, h := range header {
		if !strings.EqualFold(strings.TrimSpace(h), importColumns[i]) {
			return nil, nil, errImportHeader
		}
	}
	var rows []importRow
	var exc []wire.ImportException
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, nil, wire.Invalid("csv", "line %d: %v", pe.StartLine, pe.Err)
		}
		if err != nil {
			return nil, nil, wire.Invalid("csv", "%v", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows)+len(exc) >= wire.MaxImportRows {
			return nil, nil, wire.Invalid("csv", "more than %d rows", wire.MaxImportRows)
		}
		row, e := parseRow(line, rec)
		if e != nil {
			exc = append(exc, *e)
			continue
		}
		rows = append(rows, row)
	}
	return rows, exc, nil
}

func parseRow(line int, rec []string) (importRow, *wire.ImportException) {
	row := importRow{line: line}
	fail := func(e *wire.ImportException) (importRow, *wire.ImportException) {
		e.Row, e.Username = line, row.username
		return importRow{}, e
	}
	if len(rec) > 0 && utf8.ValidString(rec[0]) && len(rec[0]) <= 64 {
		row.username = strings.TrimSpace(rec[0])
	}
	if len(rec) != len(importColumns) {
		return fail(&wire.ImportException{Reason: fmt.Sprintf("%d fields, want %d (%s)", len(rec), len(importColumns), wire.ImportTemplateHeader)})
	}
	for i, cell := range rec { // refuse formulas in any column first: they are the dangerous ones
		if formulaCell(cell) {
			if i == 0 {
				row.username = ""
			}
			return fail(&wire.ImportException{Field: importColumns[i], Reason: "formula-like cell refused (starts with =, +, -, @, tab or CR)"})
		}
	}
	if problem := usernameProblem(row.username); problem != "" {
		return fail(&wire.ImportException{Field: "username", Reason: problem})
	}
	var e *wire.ImportException
	if row.displayName, e = checkCell("display_name", rec[1], 100); e != nil {
		return fail(e)
	}
	if row.displayName == "" {
		row.displayName = row.username
	}
	if row.email, e = checkCell("email", rec[2], 254); e != nil {
		return fail(e)
	}
	if a, err := mail.ParseAddress(row.email); row.email == "" || err != nil || a.Address != row.email || a.Name != "" {
		return fail(&wire.ImportException{Field: "email", Reason: "not a plain address such as name@example.com"})
	}
	if row.organization, e = checkCell("organization", rec[3], 100); e != nil {
		return fail(e)
	}
	groups, e := checkCell("groups", rec[4], 1000)
	if e != nil {
		return fail(e)
	}
	for g := range strings.SplitSeq(groups, wire.ImportTemplateGroupSeparator) {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if formulaCell(g) {
			return fail(&wire.ImportException{Field: "groups", Reason: "formula-like group name refused"})
		}
		if utf8.RuneCountInString(g) > 100 {
			return fail(&wire.ImportException{Field: "groups", Reason: "a group name is longer than 100 characters"})
		}
		row.groups = append(row.groups, g)
	}
	return row, nil
}

func (h *Hub) adminImportTemplate(r *request) (any, error) {
	return wire.ImportTemplate{Filename: "watchword-techs.csv", CSV: importTemplate}, nil
}

func importWire(im *store.TechImport) wire.Import {
	exc := im.Exceptions
	if exc == nil {
		exc = []wire.ImportException{}
	}
	return wire.Import{ID: im.ID, AdminID: im.AdminID, Mode: im.Mode, Rows: im.Rows, Created: im.Created, Exceptions: exc, CreatedAt: im.CreatedAt}
}

func (h *Hub) adminImports(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.ImportsResponse, error) {
		ims, err := tx.Imports(r.tenant.ID)
		out := &wire.ImportsResponse{Imports: []wire.Import{}}
		for i := range ims {
			out.Imports = append(out.Imports, importWire(&ims[i]))
		}
		return out, err
	})
}

func (h *Hub) adminImport(r *request) (any, error) {
	var req wire.ImportRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.Mode != wire.ImportAtomic && req.Mode != wire.ImportPerRow {
		return nil, wire.Invalid("mode", "must be %q or %q", wire.ImportAtomic, wire.ImportPerRow)
	}
	rows, exc, err := parseTechCSV(req.CSV)
	if err != nil {
		return nil, err
	}
	var out wire.Import
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		groups, err := c.tx.Groups(r.tenant.ID, store.KindTech)
		if err != nil {
			return err
		}
		groupID := map[string]int64{}
		for _, g := range groups {
			if !g.Builtin {
				groupID[strings.ToLower(g.Name)] = g.ID
			}
		}
		seen := map[string]bool{}
		type good struct {
			row    importRow
			org    string
			groups []int64
		}
		var ok []good
		for _, row := range rows {
			e, g := h.checkImportRow(c.tx, r, row, seen, groupID)
			if e != nil {
				e.Row, e.Username = row.line, row.username
				exc = append(exc, *e)
				continue
			}
			ok = append(ok, good{row, g.org, g.groups})
		}
		sortExceptions(exc)
		im := &store.TechImport{TenantID: r.tenant.ID, AdminID: r.who.id, Mode: req.Mode, Rows: len(ok) + len(exc), Exceptions: exc, CreatedAt: c.at}
		if req.Mode == wire.ImportPerRow || len(exc) == 0 {
			im.Created = len(ok)
		}
		if err := c.tx.CreateImport(im); err != nil {
			return err
		}
		for _, g := range ok[:im.Created] {
			res := &store.Reservation{TenantID: r.tenant.ID, ImportID: im.ID, Username: g.row.username, DisplayName: g.row.displayName,
				Email: g.row.email, Organization: g.org, Groups: g.groups, CreatedAt: c.at}
			if err := c.tx.CreateReservation(res); err != nil {
				return err
			}
		}
		out = importWire(im)
		return c.audit("tech.import", fmt.Sprintf("import %d", im.ID),
			fmt.Sprintf("mode=%s rows=%d reserved=%d exceptions=%d", im.Mode, im.Rows, im.Created, len(exc)))
	})
	return out, err
}

func sortExceptions(exc []wire.ImportException) {
	for i := 1; i < len(exc); i++ { // insertion sort: exceptions are few and nearly sorted
		for j := i; j > 0 && exc[j].Row < exc[j-1].Row; j-- {
			exc[j], exc[j-1] = exc[j-1], exc[j]
		}
	}
}

type checkedRow struct {
	org    string
	groups []int64
}

// checkImportRow checks a parsed row against the tenant. seen collects the file's usernames.
func (h *Hub) checkImportRow(tx store.Tx, r *request, row importRow, seen map[string]bool, groupID map[string]int64) (*wire.ImportException, checkedRow) {
	var out checkedRow
	if seen[row.username] {
		return &wire.ImportException{Field: "username", Reason: "duplicate username in this file"}, out
	}
	seen[row.username] = true
	if _, err := tx.TechByUsername(r.tenant.ID, row.username); err == nil {
		return &wire.ImportException{Field: "username", Reason: "duplicate username: a tech has it already"}, out
	}
	if _, err := tx.ReservationByUsername(r.tenant.ID, row.username); err == nil {
		return &wire.ImportException{Field: "username", Reason: "duplicate username: reserved by an earlier import"}, out
	}
	if row.organization != "" {
		org, err := tx.OrgByName(r.tenant.ID, row.organization)
		if err != nil {
			return &wire.ImportException{Field: "organization", Reason: fmt.Sprintf("unknown organization %q", row.organization)}, out
		}
		out.org = org.Name
	}
	if co, ok := r.coManager(); ok && !strings.EqualFold(out.org, co) {
		return &wire.ImportException{Field: "organization", Reason: fmt.Sprintf("a Co-managed Manager imports techs of %q only", co)}, out
	}
	for _, g := range row.groups {
		id, ok := groupID[strings.ToLower(g)]
		if !ok {
			return &wire.ImportException{Field: "groups", Reason: fmt.Sprintf("unknown tech group %q", g)}, out
		}
		out.groups = append(out.groups, id)
	}
	return nil, out
}

func (h *Hub) adminReservations(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.ReservationsResponse, error) {
		rs, err := tx.Reservations(r.tenant.ID)
		if err != nil {
			return nil, err
		}
		groups, err := tx.Groups(r.tenant.ID, store.KindTech)
		if err != nil {
			return nil, err
		}
		names := map[int64]string{}
		for _, g := range groups {
			names[g.ID] = g.Name
		}
		out := &wire.ReservationsResponse{Reservations: []wire.Reservation{}}
		co, scoped := r.coManager()
		for _, res := range rs {
			if scoped && !strings.EqualFold(res.Organization, co) {
				continue
			}
			w := wire.Reservation{ID: res.ID, ImportID: res.ImportID, Username: res.Username, DisplayName: res.DisplayName, Email: res.Email,
				Organization: res.Organization, Groups: []string{}, Status: wire.TechStatusPendingMatch, TechID: res.TechID,
				CreatedAt: res.CreatedAt, MatchedAt: res.MatchedAt}
			if res.TechID != 0 {
				w.Status = "matched"
			}
			for _, id := range res.Groups {
				if n, ok := names[id]; ok {
					w.Groups = append(w.Groups, n)
				}
			}
			out.Reservations = append(out.Reservations, w)
		}
		return out, nil
	})
}

// errReservedUsername refuses a registration of a reserved username with another email. It answers exactly as a
// taken username does, so a squatter learns nothing of the reservation (not even that there is one, nor its
// email); the refusal is audited as reserved-username (refusal.go), for the admin whose tech typed a wrong email.
type errReservedUsername struct{}

func (errReservedUsername) Error() string { return "username is reserved for another email" }

func (errReservedUsername) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = errUsernameTaken()
		return true
	}
	return false
}

// errUsernameTaken is the answer to a registration under a username a tech has, or a reservation holds for
// another email.
func errUsernameTaken() *wire.Error {
	return &wire.Error{Code: wire.CodeConflict, Field: "username", Message: "username is taken"}
}

// matchReservation completes the registration of a username an import reserved. It runs in the registration's
// transaction right after the tech is created. Only the person the import named may take the username: the typed
// email must be the reservation's (case aside), else the registration is refused as if the name were taken and
// the reservation waits for its owner. A match gives the tech the reservation's organization, email and display
// name (the admin's record wins over the form; what the device typed is kept on the reservation, for the pending
// list to show both); its groups are joined only at approval (applyReservation), so a pending registration is in
// no group and reaches nothing through one.
func (h *Hub) matchReservation(c *change, t *store.Tech) error {
	res, err := c.tx.ReservationByUsername(t.TenantID, t.Username)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || res.TechID != 0 {
		return err
	}
	if !strings.EqualFold(t.Email, res.Email) {
		return errReservedUsername{}
	}
	typed := store.Typed{DisplayName: t.DisplayName, Email: t.Email, Organization: t.Organization}
	t.DisplayName, t.Email, t.Organization, t.CoManaged = res.DisplayName, res.Email, res.Organization, res.Organization != ""
	if err := c.tx.UpdateTech(t); err != nil {
		return err
	}
	if err := c.tx.MatchReservation(t.TenantID, res.ID, t.ID, c.at, typed); err != nil {
		return err
	}
	return c.audit("tech.reservation-match", fmt.Sprintf("tech %d", t.ID),
		fmt.Sprintf("username=%q import=%d typedDisplayName=%q typedOrganization=%q organization=%q groups=%d (joined at approval)",
			t.Username, res.ImportID, typed.DisplayName, typed.Organization, res.Organization, len(res.Groups)))
}

// applyReservation joins, at a tech's approval, the groups of the reservation it registered under; a group
// deleted since is skipped.
func applyReservation(c *change, t *store.Tech) error {
	res, err := c.tx.ReservationOf(t.TenantID, t.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && len(res.Groups) == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	var joined []int64
	for _, g := range res.Groups {
		err := c.tx.AddMembers(t.TenantID, g, []int64{t.ID})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		joined = append(joined, g)
	}
	c.graph = true
	return c.audit("tech.reservation-groups", fmt.Sprintf("tech %d", t.ID),
		fmt.Sprintf("username=%q import=%d groups=%v joined=%v", t.Username, res.ImportID, res.Groups, joined))
}

// pendingReservations sets, on the techs still waiting for approval, the reservation each registered under.
func pendingReservations(tx store.Tx, tenant int64, techs []wire.Tech) error {
	waiting := false
	for _, t := range techs {
		waiting = waiting || t.Status == wire.TechPending || t.Status == wire.TechRejected
	}
	if !waiting {
		return nil
	}
	rs, err := tx.Reservations(tenant)
	if err != nil {
		return err
	}
	groups, err := tx.Groups(tenant, store.KindTech)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	byTech := map[int64]*store.Reservation{}
	for i := range rs {
		if rs[i].TechID != 0 {
			byTech[rs[i].TechID] = &rs[i]
		}
	}
	for i := range techs {
		t := &techs[i]
		res := byTech[t.ID]
		if res == nil || t.Status != wire.TechPending && t.Status != wire.TechRejected {
			continue
		}
		w := &wire.TechReservation{ImportID: res.ImportID, Groups: []string{}, TypedDisplayName: res.Typed.DisplayName,
			TypedEmail: res.Typed.Email, TypedOrganization: res.Typed.Organization}
		for _, id := range res.Groups {
			if n, ok := names[id]; ok {
				w.Groups = append(w.Groups, n)
			}
		}
		t.Reservation = w
	}
	return nil
}
