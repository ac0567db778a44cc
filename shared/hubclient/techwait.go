package hubclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// WaitStatus long-polls this tech's own status until it differs from known or wait (at most wire.MaxWait)
// elapses; it works in every state, so a pending device uses it to learn of its approval.
func (c *Client) WaitStatus(ctx context.Context, known wire.TechStatus, wait time.Duration) (*wire.TechStatusResponse, error) {
	q := url.Values{"status": {string(known)}}
	if wait > 0 {
		q.Set("waitms", strconv.FormatInt(wait.Milliseconds(), 10))
	}
	var out wire.TechStatusResponse
	return &out, c.do(ctx, http.MethodGet, wire.PathTechStatusWait, q, nil, &out, wait)
}
