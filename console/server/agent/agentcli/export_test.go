package agentcli

import "io"

// SetStdin makes --token-file - read r until the test ends.
func SetStdin(r io.Reader) (restore func()) {
	old := stdin
	stdin = r
	return func() { stdin = old }
}
