package hubclient

import "github.com/watchword/watchword/shared/seal"

// PublicKey is the public half of the identity this client authenticates with: a Console shows its fingerprint
// while it waits for an owner's approval, and finds itself in the admin list by its key ID.
func (c *Client) PublicKey() *seal.PublicKey { return c.public }
