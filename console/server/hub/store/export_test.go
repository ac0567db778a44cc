package store

// ExecSQL runs q on s's database behind its back: the tamper cases alter the audit log the way someone with the
// file (or the database role) would.
func ExecSQL(s Store, q string) error {
	var d *db
	switch s := s.(type) {
	case *SQLite:
		d = &s.db
	case *Postgres:
		d = &s.db
	}
	_, err := d.w.Exec(q)
	return err
}
