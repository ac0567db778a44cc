package seal

import "errors"

// Sentinel errors for errors.Is. Errors returned by this package wrap one of
// them where a caller may need to branch.
var (
	// ErrWrongKey: none of the identities can open the envelope.
	ErrWrongKey = errors.New("no identity matches")
	// ErrTampered: the envelope parsed but failed authentication.
	ErrTampered = errors.New("authentication failed")
	// ErrWrongContext: the envelope opened but is bound to another context.
	ErrWrongContext = errors.New("bound to another context")
	// ErrMalformed: the input cannot be parsed.
	ErrMalformed = errors.New("malformed")
)
