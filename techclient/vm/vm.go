// Package vm is the TechClient's view-model: the state a technician's screens show and the actions they take.
//
// It never imports fyne's widget package, so that the same state can be driven by tests, by the views in
// package view, and by end-to-end scripts without a window. Values that views render are fyne data bindings,
// which are safe to set from any goroutine (fyne delivers their change events on the UI goroutine); the few
// direct UI calls the view-model makes from its own goroutines (clearing the clipboard, desktop notifications)
// go through Options.Do, which is fyne.Do in the application.
//
// # Life of a device
//
//	New(opts) → Start → StateUnregistered ─Register→ StatePending ─(admin approves)→ StateActive
//	                  ↘ StateLocked ─Unlock→ (the state the hub reports)
//
// Start reads the device file (Options.Dir/device.json: the invite and the tech's public details, nothing
// secret) and the device identity from the OS keyring or the passphrase-sealed file (shared/keystore). The
// hub is reached only through the typed client (shared/hubclient), behind the Hub interface below: a pending
// device long-polls its own status, an active one long-polls the tenant's revision and fetches what changed when
// it moves, so approvals, rotations and removals show within a second. A feature an older hub may lack (deltas,
// just-in-time access, two-factor sessions, device replacement, password history) is used unless the hub has said
// its wire.CapabilityVersion is below the one that brought it (lacks).
//
// # Secrets
//
// Envelopes stay sealed: in memory, in the offline cache (Options.Dir/credentials.json) and on the wire.
// An envelope is opened only inside Reveal (the caller shows the returned text and forgets it), inside
// CopyPassword (the clipboard gets it, the opened bytes are wiped at once), or inside OpenVersion for one version
// of a password history the technician asked for; a just-in-time account opens only while its window is open. A
// device whose invite pins the tenant's signed authority opens only envelopes an enrolled agent signed
// (authority.go). The
// clipboard guard remembers a keyed hash of what it copied, not the password, to decide later whether the
// clipboard still holds it.
//
// # Reading guide
//
//   - vm.go: App, its Options and bindings, the Hub it talks to, start, lock and unlock, the idle lock and
//     the ticker, and act, the wrapper of every action a technician starts.
//   - register.go: the first-run form (Registration, its checks and FieldError), Register, the first contact
//     with a hub that Register and Replace share, Explain (errors in the technician's words) and Forget.
//   - prefill.go: what a deployment tool hands the first-run form (flags and environment, ParseArgs).
//   - device.go: the device file and the sealed offline cache on disk.
//   - sync.go: the loop that follows the hub (status, changes, delta fetches and their merge), the offline
//     banner, and applying a credential list to the rows with its notifications.
//   - rows.go: Row, the filter and the selection, and the words for times and counts (Until, Countdown, Plural).
//   - secrets.go: Reveal, Hide, CopyPassword and CopyUsername, and the events they report to the hub, each signed
//     by the device's key (signEvent, which signs JIT requests too) so the hub cannot invent one.
//   - jit.go: just-in-time access: a row's window state and its words, RequestAccess and EndAccess;
//   - tap.go: a window's Temporary Access Pass (Entra ID): HasTAP, TAPText, RevealTAP and CopyTAP.
//   - history.go: a password's previous versions (History, OpenVersion).
//   - authority.go: the tenant's signed authority, pinned by the invite: the verified chain kept on disk, and the
//     check that an enrolled agent signed every envelope before it is opened (rows that fail show UnsignedAlert).
//   - twofactor.go: two-factor sessions, lockout, failed unlocks reported later, and device replacement.
//
// Tests run the view-model against the real in-process hub (internal/testsupport/hubtest) with an in-memory
// keyring (internal/testsupport/keyringtest); vm_test.go holds their shared set-up, capability_test.go makes the
// hub look older than the capability header, and vmtest helps them, the view's tests and the screenshot runs with
// a two-factor hub, an agent's rotation and sample credentials.
package vm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/data/binding"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/secretclip"
	"github.com/watchword/watchword/shared/wire"
)

// Registration states of this device, in the order a technician meets them.
const (
	StateStarting     = "starting"
	StateUnregistered = "unregistered"
	StateLocked       = "locked"
	StatePending      = "pending"
	StateActive       = "active"
	StateRejected     = "rejected"
	StateDisabled     = "disabled"
)

var headlines = map[string]string{
	StateStarting:     "Opening…",
	StateUnregistered: "This device is not registered with your MSP yet.",
	StateLocked:       "Watchword is locked.",
	StatePending:      "Waiting for approval by your MSP.",
	StateActive:       "Your accounts",
	StateRejected:     "Your registration was rejected by your MSP.",
	StateDisabled:     "Your access has been deactivated.",
}

// Defaults of the settings a technician can change in Preferences.
const (
	DefaultClipboardClear = secretclip.DefaultDelay
	DefaultRevealFor      = 20 * time.Second
	DefaultLockAfter      = 10 * time.Minute
)

// Settings are the technician's preferences; none of them is secret.
type Settings struct {
	ClipboardClear time.Duration // clear a copied password after this long, if the clipboard still holds it
	RevealFor      time.Duration // hide a revealed password again after this long
	LockAfter      time.Duration // lock after this long without activity; 0 never locks
}

// DefaultSettings are the settings of a new installation.
func DefaultSettings() Settings {
	return Settings{ClipboardClear: DefaultClipboardClear, RevealFor: DefaultRevealFor, LockAfter: DefaultLockAfter}
}

// Hub is the part of the hub's typed client the TechClient uses: *hubclient.Client, or a test's wrapper of one.
// What an older hub may lack is asked of HubCapability (see lacks), never of the methods a value has.
type Hub interface {
	// The device and its registration.
	Register(ctx context.Context, req wire.RegisterRequest) (*wire.TechStatusResponse, error)
	Status(ctx context.Context) (*wire.TechStatusResponse, error)
	WaitStatus(ctx context.Context, known wire.TechStatus, wait time.Duration) (*wire.TechStatusResponse, error)

	// The credential list: whole (a hub before wire.CapDeltaChanges) or what changed since the list held.
	Credentials(ctx context.Context) (*wire.CredentialsResponse, error)
	CredentialsSince(ctx context.Context, since int64, grants string) (*wire.CredentialsResponse, error)
	WaitChanges(ctx context.Context, since int64, wait time.Duration) (*wire.ChangesResponse, error)
	ReportEvent(ctx context.Context, ev wire.EventRequest) error

	// Password history (wire.CapHistory; history.go).
	History(ctx context.Context, account int64) (*wire.HistoryResponse, error)

	// The tenant's signed authority (wire.CapAuthority; authority.go).
	Authority(ctx context.Context, since int64) (*wire.AuthorityResponse, error)

	// Just-in-time access (wire.CapJIT; jit.go).
	RequestJIT(ctx context.Context, req wire.JITRequest) (*wire.JITGrant, error)
	EndJIT(ctx context.Context, id int64) (*wire.JITGrant, error)

	// Two-factor sessions (wire.CapTwoFactor) and device replacement (wire.CapRekey; twofactor.go).
	Security(ctx context.Context) (*wire.TechSecurity, error)
	EnrollTOTP(ctx context.Context) (*wire.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, code string) (*wire.TechSecurity, error)
	OpenSession(ctx context.Context, code string) (*wire.TechSecurity, error)
	ReportUnlock(ctx context.Context, result string) (*wire.TechSecurity, error)
	Rekey(ctx context.Context, req wire.RekeyRequest) (*wire.Rekey, error)
	RekeyStatus(ctx context.Context) (*wire.Rekey, error)

	// HubCapability is the hub's wire.CapabilityVersion from its latest answer, 0 before it has answered.
	HubCapability() int
	Close()
}

var _ Hub = (*hubclient.Client)(nil)

// lacks reports whether the hub has said it is older than capability version v (one of the wire.Cap constants).
// A hub that has not answered yet is given the benefit of the doubt: the call is made, and fails as any call to an
// unreachable hub does, which says more to a technician than "this hub cannot" would.
func lacks(h Hub, v int) bool {
	c := h.HubCapability()
	return c != 0 && c < v
}

// Clipboard is the system clipboard; fyne.Clipboard implements it.
type Clipboard interface {
	Content() string
	SetContent(string)
}

var _ Clipboard = fyne.Clipboard(nil)

// Options configure an App. Only Dir is required.
type Options struct {
	// Dir keeps the device file, the sealed offline cache and the keystore's fallback file.
	Dir string
	// Service names the application in the OS keyring (default "watchword-techclient").
	Service string
	// Keyring replaces the OS keyring (tests inject one; keystore.NoKeyring forces the passphrase file).
	Keyring keystore.Keyring
	// ScryptWorkFactor of a new passphrase file; 0 is keystore.DefaultScryptWorkFactor. Tests lower it.
	ScryptWorkFactor int
	// Dial builds the hub client; the default is hubclient.New.
	Dial func(wire.Invite, *seal.Identity) (Hub, error)
	// Clipboard is the system clipboard; nil disables copying.
	Clipboard Clipboard
	// Notify shows a desktop notification; nil shows none. It is called through Do.
	Notify func(title, body string)
	// Settings returns the current preferences; nil means DefaultSettings.
	Settings func() Settings
	// Do runs f on the UI goroutine; the default is fyne.Do.
	Do func(f func())
	// Now is the clock; the default is time.Now.
	Now func() time.Time
	// Wait is how long a long poll is held (default 25 s); Retry the first back-off after a failure (default 1 s).
	Wait, Retry time.Duration
	// Tick is how often times on screen tick and idleness is checked (default 1 s).
	Tick time.Duration
	// Poll is how often the two-factor, lockout and replacement screens ask the hub whether anything changed
	// (default 5 s); a submitted code does not wait for it.
	Poll time.Duration
	// Prefill is what the first-run form starts with (silent deployment; see ParseArgs).
	Prefill Prefill
}

// Sentinel errors the views branch on.
var (
	ErrLocked          = errors.New("watchword is locked")
	ErrNoRow           = errors.New("no such account")
	ErrUnreachable     = errors.New("the hub cannot be reached")
	ErrPinMismatch     = errors.New("the hub's fingerprint does not match the invite")
	ErrUnknownClient   = errors.New("the hub does not know this client GUID")
	ErrUsernameTaken   = errors.New("the username is taken")
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// App is the TechClient's top-level view-model.
type App struct {
	// State is one of the State constants.
	State binding.String
	// Headline is the one sentence the current screen leads with.
	Headline binding.String
	// Fingerprint is this device's fingerprint, to read to the admin who approves it.
	Fingerprint binding.String
	// Account describes the registration: "alice at Contoso MSP (hub.example.com)".
	Account binding.String
	// Error is the last failure of a technician's action, in words for them; empty when none.
	Error binding.String
	// Busy is true while an action (registering, unlocking) is under way.
	Busy binding.Bool
	// Banner is the "offline since…" notice; empty when the hub answers.
	Banner binding.String
	// Synced says when the list was last fetched and how many accounts it holds.
	Synced binding.String
	// NeedPassphrase is true when the key lives in the passphrase-sealed file: first run and unlock ask for it.
	NeedPassphrase binding.Bool
	// KeyStorage explains where the device key is (or will be) kept, and why when it is the file.
	KeyStorage binding.String
	// Rows changes whenever the visible rows do; views re-read them with Visible.
	Rows binding.Int
	// Selected is the account ID of the selected row, 0 when none.
	Selected binding.Int
	// Revealed is the account ID whose password is shown, 0 when none.
	Revealed binding.Int
	// Tick changes every Options.Tick: views re-render times ("rotates in 4:59").
	Tick binding.Int
	// TOTPSecret and TOTPURI are what the enrol screen shows the authenticator app (the secret in text, the
	// otpauth:// link as a QR code); empty on every other screen. Never written anywhere.
	TOTPSecret, TOTPURI binding.String
	// CanReplace is true after Register found the username taken: the form offers Replace.
	CanReplace binding.Bool

	o    Options
	clip secretclip.Guard

	flushMu  sync.Mutex
	mu       sync.Mutex
	dev      *Device
	id       *seal.Identity
	backend  keystore.Backend
	hub      Hub
	stop     context.CancelFunc // ends the current follow loop
	all      []*Row
	byID     map[int64]*Row
	visible  []*Row
	filter   string
	rev      int64
	list     *wire.CredentialsResponse       // the whole list behind the rows: what the next delta applies to
	history  map[int64]*wire.HistoryResponse // fetched password histories, sealed (history.go)
	syncedAt time.Time
	offline  time.Time // zero when online
	events   []wire.EventRequest
	// refused are the versions (account, version) whose refusal this device reported to the admins (authority.go).
	refused    map[[2]int64]bool
	lastActive time.Time
	revealGen  int
	closed     bool
	ticker     context.CancelFunc
	wg         sync.WaitGroup
	wake       chan struct{} // wakes the two-factor and replacement waits (twofactor.go)
	trust      *trust        // the signed authority this device verifies envelopes against (authority.go); nil without an anchor
}

// New returns the view-model of a device; Start loads what the device already knows.
func New(o Options) *App {
	if o.Service == "" {
		o.Service = "watchword-techclient"
	}
	if o.Dial == nil {
		o.Dial = func(inv wire.Invite, id *seal.Identity) (Hub, error) { return hubclient.New(inv, id) }
	}
	if o.Settings == nil {
		o.Settings = DefaultSettings
	}
	if o.Do == nil {
		o.Do = fyne.Do
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wait <= 0 {
		o.Wait = 25 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	a := &App{
		State: binding.NewString(), Headline: binding.NewString(), Fingerprint: binding.NewString(),
		Account: binding.NewString(), Error: binding.NewString(), Busy: binding.NewBool(),
		Banner: binding.NewString(), Synced: binding.NewString(), NeedPassphrase: binding.NewBool(),
		KeyStorage: binding.NewString(), Rows: binding.NewInt(), Selected: binding.NewInt(),
		Revealed: binding.NewInt(), Tick: binding.NewInt(),
		TOTPSecret: binding.NewString(), TOTPURI: binding.NewString(), CanReplace: binding.NewBool(),
		o: o, byID: map[int64]*Row{}, wake: make(chan struct{}, 1),
	}
	a.SetState(StateUnregistered)
	return a
}

// SetState moves the device to state s and updates the headline a technician reads.
func (a *App) SetState(s string) {
	_ = a.State.Set(s)
	_ = a.Headline.Set(headlines[s])
}

// Current returns the current state.
func (a *App) Current() string {
	s, _ := a.State.Get()
	return s
}

// Settings returns the current preferences.
func (a *App) Settings() Settings { return a.o.Settings() }

// Start loads the device file and the identity and begins following the hub. It returns at once; the state
// says where the device stands. Start also begins the ticker that makes times tick and locks an idle app.
func (a *App) Start() {
	a.mu.Lock()
	a.lastActive = a.o.Now()
	ctx, cancel := context.WithCancel(context.Background())
	a.ticker = cancel
	a.mu.Unlock()
	a.SetState(StateStarting)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.tick(ctx)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.boot()
	}()
}

// boot decides the first screen: the first-run form, the lock screen, or the hub's state of this device.
func (a *App) boot() {
	dev, err := loadDevice(a.o.Dir)
	if errors.Is(err, errNoDevice) {
		a.probeKeystore()
		a.SetState(StateUnregistered)
		return
	}
	if err != nil {
		a.setError(err)
		a.SetState(StateUnregistered)
		return
	}
	a.mu.Lock()
	a.dev = dev
	a.mu.Unlock()
	a.showDevice(dev)
	// Sealed envelopes of the last session show at once, even before the hub answers.
	if c, err := loadCache(a.o.Dir); err == nil && dev.Status == wire.TechActive {
		a.mu.Lock()
		a.events = c.Events
		a.mu.Unlock()
		a.apply(&c.Credentials, c.SyncedAt, false)
	}
	if err := a.openKeys(""); err != nil {
		a.lockScreen(err)
		return
	}
	a.follow()
}

// probeKeystore tells the first-run form whether a passphrase is needed, and why.
func (a *App) probeKeystore() {
	st, err := a.store("")
	if err != nil {
		a.setError(err)
		return
	}
	b, perr := st.Probe()
	_ = a.NeedPassphrase.Set(b == keystore.BackendFile)
	msg := b.Describe()
	if perr != nil {
		msg += " (" + keyringReason(perr) + ")"
	}
	_ = a.KeyStorage.Set(msg)
}

// keyringReason shortens the keystore's explanation of why the OS keyring cannot be used.
func keyringReason(err error) string {
	s := err.Error()
	const marker = "os keyring unavailable: "
	for i := 0; i+len(marker) <= len(s); i++ {
		if s[i:i+len(marker)] == marker {
			return "the system keyring did not answer: " + s[i+len(marker):]
		}
	}
	return s
}

func (a *App) store(passphrase string) (*keystore.Store, error) {
	o := keystore.Options{Service: a.o.Service, Dir: a.o.Dir, Keyring: a.o.Keyring, ScryptWorkFactor: a.o.ScryptWorkFactor}
	if passphrase != "" {
		o.Passphrase = func(bool) (string, error) { return passphrase, nil }
	}
	return keystore.New(o)
}

// identityName is the keystore name of the device identity.
const identityName = "device"

// openKeys loads the device identity; without a passphrase only the OS keyring can give it.
func (a *App) openKeys(passphrase string) error {
	st, err := a.store(passphrase)
	if err != nil {
		return err
	}
	v, b, err := st.Load(identityName)
	if err != nil {
		switch {
		case errors.Is(err, keystore.ErrNoPassphrase):
			return fmt.Errorf("open device key: %w", ErrLocked)
		case errors.Is(err, keystore.ErrWrongPassphrase):
			return fmt.Errorf("open device key: %w", ErrWrongPassphrase)
		}
		return fmt.Errorf("open device key: %w", err)
	}
	id, err := seal.ParseIdentity(v)
	if err != nil {
		return fmt.Errorf("open device key: %w", err)
	}
	a.mu.Lock()
	a.id, a.backend = id, b
	a.mu.Unlock()
	_ = a.NeedPassphrase.Set(b == keystore.BackendFile)
	_ = a.KeyStorage.Set(b.Describe())
	return nil
}

// lockScreen shows the lock screen, with a passphrase field when the key is in the sealed file.
func (a *App) lockScreen(err error) {
	if errors.Is(err, ErrLocked) {
		_ = a.NeedPassphrase.Set(true)
		_ = a.KeyStorage.Set(keystore.BackendFile.Describe())
		_ = a.Error.Set("")
	} else {
		a.setError(err)
	}
	a.SetState(StateLocked)
}

// Lock forgets the device key and shows the lock screen; Unlock opens the keystore again.
func (a *App) Lock() {
	a.mu.Lock()
	if a.dev == nil || a.id == nil {
		a.mu.Unlock()
		return
	}
	a.id = nil
	a.history = nil
	a.stopLocked()
	a.revealGen++
	a.mu.Unlock()
	_ = a.Revealed.Set(0)
	_ = a.Error.Set("")
	a.SetState(StateLocked)
}

// Unlock opens the keystore again (with the passphrase when the key is in the sealed file) and resumes.
func (a *App) Unlock(passphrase string) error {
	a.Touch()
	_ = a.Busy.Set(true)
	defer a.Busy.Set(false)
	if err := a.openKeys(passphrase); err != nil {
		if errors.Is(err, ErrWrongPassphrase) {
			a.noteUnlockFailure()
		}
		a.setError(err)
		return err
	}
	_ = a.Error.Set("")
	a.reportUnlocks(context.Background())
	a.mu.Lock()
	dev := a.dev
	a.mu.Unlock()
	if dev == nil {
		a.SetState(StateUnregistered)
		return nil
	}
	a.showDevice(dev)
	a.follow()
	return nil
}

// Touch records activity: the idle lock counts from the last Touch.
func (a *App) Touch() {
	a.mu.Lock()
	a.lastActive = a.o.Now()
	a.mu.Unlock()
}

func (a *App) tick(ctx context.Context) {
	t := time.NewTicker(a.o.Tick)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n++
		_ = a.Tick.Set(n)
		a.checkIdle()
		a.checkWindow()
	}
}

// checkWindow hides a revealed password whose just-in-time window has closed (jit.go).
func (a *App) checkWindow() {
	v, _ := a.Revealed.Get()
	if v == 0 {
		return
	}
	if r := a.Row(int64(v)); r != nil && !r.Usable(a.o.Now()) {
		a.Hide()
	}
}

// checkIdle locks the app when it has been idle longer than the LockAfter setting.
func (a *App) checkIdle() {
	after := a.o.Settings().LockAfter
	if after <= 0 {
		return
	}
	a.mu.Lock()
	idle := a.id != nil && a.dev != nil && a.o.Now().Sub(a.lastActive) >= after
	a.mu.Unlock()
	if idle {
		a.Lock()
	}
}

// Close stops every goroutine of the view-model and releases the hub client.
func (a *App) Close() {
	a.mu.Lock()
	a.closed = true
	a.history = nil
	a.stopLocked()
	if a.ticker != nil {
		a.ticker()
	}
	a.revealGen++
	a.mu.Unlock()
	a.clip.Stop()
	a.wg.Wait()
}

// stopLocked ends the follow loop and drops the hub client; a.mu is held.
func (a *App) stopLocked() {
	if a.stop != nil {
		a.stop()
		a.stop = nil
	}
	if a.hub != nil {
		a.hub.Close()
		a.hub = nil
	}
}

// act runs one of the technician's actions: it counts as activity, Busy shows while it runs, and Error shows its
// failure in words for the technician (or nothing, when it worked).
func (a *App) act(f func() error) error {
	a.Touch()
	_ = a.Busy.Set(true)
	defer a.Busy.Set(false)
	err := f()
	a.setError(err)
	return err
}

func (a *App) setError(err error) {
	if err == nil {
		_ = a.Error.Set("")
		return
	}
	_ = a.Error.Set(Explain(err))
}

// showDevice renders what the device file says: its state, fingerprint and registration.
func (a *App) showDevice(d *Device) {
	_ = a.Fingerprint.Set(d.Fingerprint)
	_ = a.Account.Set(d.describe())
	if d.Replacing && d.Status == wire.TechPending {
		a.SetState(StateReplacing)
		return
	}
	switch d.Status {
	case wire.TechActive:
		a.SetState(StateActive)
	case wire.TechRejected:
		a.SetState(StateRejected)
	case wire.TechDisabled:
		a.SetState(StateDisabled)
	default:
		a.SetState(StatePending)
	}
}
