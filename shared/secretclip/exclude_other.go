//go:build !windows

package secretclip

import "errors"

// excludes is false where the system has no clipboard history or cloud sync an application can opt out of.
const excludes = false

func setExcluded(string) error { return errors.New("not supported") }
