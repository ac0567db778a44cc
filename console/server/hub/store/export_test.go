package store

// ExecSQL runs q on s's database behind its back: the tamper cases alter the audit log the way someone with the
// file would.
func ExecSQL(s Store, q string) error {
	_, err := s.(*SQLite).w.Exec(q)
	return err
}
