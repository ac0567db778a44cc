package entra

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
)

// Answer is what one AADSTS code of the password grant says about the password.
type Answer string

const (
	// AnswerRight: the password is right; the sign-in stopped later (MFA, MFA registration, an expired
	// password).
	AnswerRight Answer = "right"
	// AnswerWrong: the password is wrong.
	AnswerWrong Answer = "wrong"
	// AnswerLocked: smart lockout (or a blocked IP) answers whatever the password: stop at once.
	AnswerLocked Answer = "locked"
	// AnswerDisabled: the account is disabled and the password right.
	AnswerDisabled Answer = "disabled"
	// AnswerNoAccount: no such user in the tenant.
	AnswerNoAccount Answer = "no-account"
	// AnswerUnknown: says nothing about the password; the verification fails with the code.
	AnswerUnknown Answer = "unknown"
)

// DefaultAnswers classify the password grant's error_codes[0]; a code not listed is AnswerUnknown. Microsoft
// says the codes may change, so an agent can override any of them (Config.Answers). Whether Entra checks the
// password before answering 50057 is not documented: the default takes 50057 as "disabled, password right"
// (as AD's "data 533"); a tenant that answers 50057 to any password maps it to AnswerUnknown, and then closed
// just-in-time accounts' rotations stay unverified.
var DefaultAnswers = map[int]Answer{
	50126: AnswerWrong,    // invalid username or password
	50076: AnswerRight,    // MFA required
	50079: AnswerRight,    // MFA registration required
	50055: AnswerRight,    // password expired
	50053: AnswerLocked,   // locked by smart lockout, or sign-ins from a malicious IP blocked
	50057: AnswerDisabled, // user disabled
	50034: AnswerNoAccount,
}

func answers(over map[int]Answer) map[int]Answer {
	m := make(map[int]Answer, len(DefaultAnswers)+len(over))
	for k, v := range DefaultAnswers {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// ParseAnswer reads an answer's name (for the agent's configuration).
func ParseAnswer(s string) (Answer, error) {
	switch a := Answer(strings.ToLower(strings.TrimSpace(s))); a {
	case AnswerRight, AnswerWrong, AnswerLocked, AnswerDisabled, AnswerNoAccount, AnswerUnknown:
		return a, nil
	}
	return "", fmt.Errorf("answer %q: want right, wrong, locked, disabled, no-account or unknown", s)
}

// written is the password this driver last wrote to an account, as a hash, and when.
type written struct {
	hash [32]byte
	at   time.Time
}

// lagWindow is how long after a password write a 50126 to that very password may be replication: the
// verification asks again (the same wrong hash is not counted twice by smart lockout).
const lagWindow = 5 * time.Minute

// verifyTries bounds the sign-ins of one verification, all with the same password.
const verifyTries = 3

// SetPassword writes the password and, at the account's first password, enables it in the same request.
func (d *Driver) SetPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, true)
}

// SetDisabledPassword writes the password; the account stays as it is, disabled.
func (d *Driver) SetDisabledPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, false)
}

// setPassword sends one PATCH with the whole change. Graph applies a PATCH as a whole or not at all, so a 4xx
// changed nothing (rotation.ErrNotApplied). 429, 503 and 504 are retried with the same body: resending the
// password just set is harmless, and a sign-in is never part of the retry, so no retry can count toward lockout.
func (d *Driver) setPassword(ctx context.Context, name, password string, enableFirst bool) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	u, found, err := d.managedUser(ctx, name)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	if !found {
		return fmt.Errorf("set password of %q: %w (%w)", name, driver.ErrNoAccount, rotation.ErrNotApplied)
	}
	body := map[string]any{"passwordProfile": map[string]any{"password": password, "forceChangePasswordNextSignIn": false}}
	first := !u.hasPassword()
	if first {
		body["employeeType"] = driver.MarkManaged
		if enableFirst && !u.AccountEnabled {
			body["accountEnabled"] = true
		}
	}
	err = d.g.do(ctx, call{method: http.MethodPatch, path: "/users/" + u.ID, body: body, retry404: d.knownID(name)})
	var ge *GraphError
	if errors.As(err, &ge) && ge.Status >= 400 && ge.Status < 500 {
		return fmt.Errorf("set password of %q: %w: %s %s", name, rotation.ErrNotApplied, ge.Code, ge.Message)
	}
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	d.mu.Lock()
	d.written[name] = written{hash: sha256.Sum256([]byte(password)), at: d.cfg.Now()}
	d.mu.Unlock()
	return nil
}

// Verify signs in once as the account with the password grant (a few times with the same password while a
// password this driver just wrote may still be replicating): nil, ErrBadPassword, ErrDisabled, ErrLockedOut,
// ErrNoAccount or another error. With verification off it reads the account's state from Graph only.
func (d *Driver) Verify(ctx context.Context, name, password string) error {
	u, err := d.toVerify(ctx, name, password)
	if err != nil {
		return err
	}
	if !d.cfg.Verify {
		if !u.AccountEnabled {
			return fmt.Errorf("verify %q: %w", name, driver.ErrDisabled)
		}
		return nil
	}
	switch a, err := d.signIn(ctx, name, password); a {
	case AnswerRight:
		return nil
	case AnswerDisabled:
		return fmt.Errorf("verify %q: %w", name, driver.ErrDisabled)
	default:
		return err
	}
}

// VerifyDisabled checks the disabled account's password without enabling it: Entra answers the right password
// of a disabled account with 50057 (see DefaultAnswers).
func (d *Driver) VerifyDisabled(ctx context.Context, name, password string) error {
	u, err := d.toVerify(ctx, name, password)
	if err != nil {
		return err
	}
	if !d.cfg.Verify {
		return nil
	}
	_ = u
	switch a, err := d.signIn(ctx, name, password); a {
	case AnswerRight, AnswerDisabled:
		return nil
	default:
		return err
	}
}

func (d *Driver) toVerify(ctx context.Context, name, password string) (*user, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, fmt.Errorf("verify %q: %w: empty", name, driver.ErrBadPassword)
	}
	u, found, err := d.managedUser(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("verify %q: %w", name, err)
	}
	if !found {
		return nil, fmt.Errorf("verify %q: %w", name, driver.ErrNoAccount)
	}
	return u, nil
}

// signIn runs the password grant and classifies its answer; err is nil only for AnswerRight and
// AnswerDisabled. A 50126 to the password this driver wrote within lagWindow is asked again, with the same
// password, up to verifyTries sign-ins; a lock stops at once.
func (d *Driver) signIn(ctx context.Context, name, password string) (Answer, error) {
	d.mu.Lock()
	w := d.written[name]
	d.mu.Unlock()
	fresh := w.hash == sha256.Sum256([]byte(password)) && d.cfg.Now().Sub(w.at) < lagWindow
	wait := max(d.cfg.Retry.Base/2, time.Millisecond)
	for try := 1; ; try++ {
		code, err := d.ropc(ctx, name, password)
		if err != nil {
			return AnswerUnknown, fmt.Errorf("verify %q: %w", name, err)
		}
		a := AnswerRight
		if code != 0 {
			if a = d.answers[code]; a == "" {
				a = AnswerUnknown
			}
		}
		switch a {
		case AnswerRight, AnswerDisabled:
			return a, nil
		case AnswerWrong:
			if fresh && try < verifyTries && d.cfg.Sleep(ctx, wait) {
				wait *= 2
				continue
			}
			return a, fmt.Errorf("verify %q: %w (AADSTS%d)", name, driver.ErrBadPassword, code)
		case AnswerLocked:
			return a, fmt.Errorf("verify %q: %w (AADSTS%d: smart lockout or a blocked sign-in; no further attempt)", name, driver.ErrLockedOut, code)
		case AnswerNoAccount:
			return a, fmt.Errorf("verify %q: %w (AADSTS%d)", name, driver.ErrNoAccount, code)
		}
		return a, fmt.Errorf("verify %q: the sign-in answered AADSTS%d, which says nothing about the password (see the agent's verifyAnswers)", name, code)
	}
}

// ropc posts one password grant; code is error_codes[0], 0 on success. The tokens of a success are discarded.
func (d *Driver) ropc(ctx context.Context, name, password string) (int, error) {
	form := url.Values{"client_id": {d.cfg.VerifyClientID}, "scope": {d.cfg.VerifyScope}, "username": {d.UPN(name)},
		"password": {password}, "grant_type": {"password"}}
	endpoint := strings.TrimRight(d.cfg.AuthorityURL, "/") + "/" + url.PathEscape(d.cfg.TenantID) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sign-in: %w", redactURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("sign-in: read the answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return 0, nil
	}
	var e struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	if json.Unmarshal(data, &e) != nil || len(e.ErrorCodes) == 0 {
		return 0, fmt.Errorf("sign-in: HTTP %d without an AADSTS code", resp.StatusCode)
	}
	return e.ErrorCodes[0], nil
}

// redactURL keeps a transport error free of the request (whose body holds the password; the URL does not, but
// the error stays one line either way).
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}

// ParseAnswers reads a configuration's code → answer map ({"50057": "unknown"}).
func ParseAnswers(m map[string]string) (map[int]Answer, error) {
	out := map[int]Answer{}
	for k, v := range m {
		code, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(k)), "AADSTS"))
		if err != nil {
			return nil, fmt.Errorf("verify answers: %q is not an AADSTS code", k)
		}
		a, err := ParseAnswer(v)
		if err != nil {
			return nil, fmt.Errorf("verify answers: AADSTS%d: %w", code, err)
		}
		out[code] = a
	}
	return out, nil
}
