//go:build !unix

package targets

import "os"

// The real targets run only on Linux; elsewhere there is nothing to share.
func flock(*os.File) error { return nil }
