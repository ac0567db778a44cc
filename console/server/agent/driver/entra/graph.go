package entra

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// GraphError is an error answer of Microsoft Graph: its status, the envelope's code and message, and the
// request-id Microsoft support asks for.
type GraphError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	Details   []string // details[].code, e.g. ObjectConflict
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("graph %d %s: %s (request-id %s)", e.Status, e.Code, e.Message, e.RequestID)
}

func statusOf(err error) int {
	var ge *GraphError
	if errors.As(err, &ge) {
		return ge.Status
	}
	return 0
}

// Retry is how Graph requests are retried, after Kiota's retry handler: only 429, 503 and 504, at most Max
// times, each after the answer's Retry-After (seconds, a fraction of them, or an HTTP date) or, without one,
// after Base doubled at each try plus jitter; the waits of one request never add up to more than Cap. Visible is
// how long a user the driver has just created may answer 404 (replication) before it counts as gone.
type Retry struct {
	Max     int
	Base    time.Duration
	Cap     time.Duration
	Visible time.Duration
}

// DefaultRetry is Kiota's: 3 retries, a 3 s base, 180 s in all; a new user may take up to a minute to be seen.
var DefaultRetry = Retry{Max: 3, Base: 3 * time.Second, Cap: 180 * time.Second, Visible: time.Minute}

// graph is the typed client of the few Graph calls the driver makes, with an MSAL confidential client for its
// app-only token.
type graph struct {
	base   string
	hc     *http.Client
	retry  Retry
	sleep  func(ctx context.Context, d time.Duration) bool
	now    func() time.Time
	newApp func() (confidential.Client, error)

	mu  sync.Mutex
	app *confidential.Client
}

const graphScope = "https://graph.microsoft.com/.default"

// token returns the app's access token (MSAL's cache, refreshed before it expires); fresh drops the cache first,
// after Graph refused a token it still held valid.
func (g *graph) token(ctx context.Context, fresh bool) (string, error) {
	g.mu.Lock()
	if g.app == nil || fresh {
		app, err := g.newApp()
		if err != nil {
			g.mu.Unlock()
			return "", err
		}
		g.app = &app
	}
	app := *g.app
	g.mu.Unlock()
	res, err := app.AcquireTokenByCredential(ctx, []string{graphScope})
	if err != nil {
		return "", fmt.Errorf("sign in to Entra ID: %w", oneLineSTS(err))
	}
	return res.AccessToken, nil
}

// oneLineSTS keeps the AADSTS line of a token error (MSAL's error holds the whole answer).
func oneLineSTS(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "AADSTS"); i >= 0 {
		line := msg[i:]
		if j := strings.Index(line, " Trace ID"); j >= 0 {
			line = line[:j]
		}
		if j := strings.IndexAny(line, "\r\n"); j >= 0 {
			line = line[:j]
		}
		return errors.New(line)
	}
	return err
}

// call is one Graph request.
type call struct {
	method, path string
	body         any
	out          any
	headers      map[string]string
	// retry404 retries a 404 with backoff for up to Retry.Visible: the object was just written and may not be
	// replicated yet.
	retry404 bool
}

// do sends c, retrying as Retry says, once more with a new token after a 401, and 404s when retry404. It
// returns a *GraphError for an error answer.
func (g *graph) do(ctx context.Context, c call) error {
	var body []byte
	if c.body != nil {
		var err error
		if body, err = json.Marshal(c.body); err != nil {
			return err
		}
	}
	var waited time.Duration
	retries, refreshed := 0, false
	visibleUntil := g.now().Add(g.retry.Visible)
	notFoundWait := g.retry.Base / 4
	for {
		tok, err := g.token(ctx, false)
		if refreshed {
			tok, err = g.token(ctx, true)
		}
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, c.method, g.base+c.path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("client-request-id", newID())
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		resp, err := g.hc.Do(req)
		if err != nil {
			return fmt.Errorf("graph %s: %w", c.method, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("graph %s: read the answer: %w", c.method, err)
		}
		if resp.StatusCode < 300 {
			if c.out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, c.out); err != nil {
					return fmt.Errorf("graph %s: decode the answer: %w", c.method, err)
				}
			}
			return nil
		}
		gerr := parseError(resp, data)
		var wait time.Duration
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !refreshed:
			refreshed = true
			continue
		case resp.StatusCode == http.StatusNotFound && c.retry404 && g.now().Before(visibleUntil):
			notFoundWait = min(2*max(notFoundWait, time.Millisecond), g.retry.Visible)
			wait = notFoundWait
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout) && retries < g.retry.Max:
			retries++
			wait = g.retryAfter(resp.Header.Get("Retry-After"), retries)
			if waited+wait > g.retry.Cap {
				return fmt.Errorf("%w (gave up: Retry-After %s beyond the %s retry budget)", gerr, wait, g.retry.Cap)
			}
			waited += wait
		default:
			return gerr
		}
		if !g.sleep(ctx, wait) {
			return fmt.Errorf("%w (while waiting to retry: %w)", gerr, ctx.Err())
		}
	}
}

// retryAfter reads Retry-After as seconds (a fraction too) or an HTTP date; without one it backs off
// exponentially from Base with up to 20% jitter.
func (g *graph) retryAfter(h string, try int) time.Duration {
	h = strings.TrimSpace(h)
	if h != "" {
		if secs, err := strconv.ParseFloat(h, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) {
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(h); err == nil {
			return max(t.Sub(g.now()), 0)
		}
	}
	d := g.retry.Base << (try - 1)
	return d + time.Duration(mrand.Int64N(int64(d)/5+1))
}

func parseError(resp *http.Response, data []byte) *GraphError {
	var env struct {
		Error struct {
			Code, Message string
			Details       []struct{ Code string }
			InnerError    struct {
				RequestID string `json:"request-id"`
			}
		}
	}
	ge := &GraphError{Status: resp.StatusCode, RequestID: resp.Header.Get("request-id")}
	if json.Unmarshal(data, &env) == nil && env.Error.Code != "" {
		ge.Code, ge.Message = env.Error.Code, env.Error.Message
		if ge.RequestID == "" {
			ge.RequestID = env.Error.InnerError.RequestID
		}
		for _, d := range env.Error.Details {
			ge.Details = append(ge.Details, d.Code)
		}
	} else {
		ge.Code, ge.Message = http.StatusText(resp.StatusCode), strings.TrimSpace(string(data[:min(len(data), 200)]))
	}
	return ge
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
