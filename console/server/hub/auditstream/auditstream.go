// Package auditstream sends a hub's audit log, event by event as it is committed, to the syslog collectors (SIEMs)
// each tenant's owner configured: RFC 5424 messages over TLS with RFC 5425's octet-counting framing, the event as
// an audit export's JSON line (or CEF), and the tenant, sequence number and chain hashes in the structured data of
// every message, so that the SIEM's copy verifies against the chain (auditexport.Verify, `watchword-hub
// verify-audit --file`). Signed chain heads (Head) go out the same way, every Config.HeadEvery.
//
// Delivery is at least once. Each collector has a cursor in the store, the newest sequence number it has taken;
// the stream resumes after it whenever the hub or the collector restarts. RFC 5425 has no acknowledgement, so the
// cursor moves past an event only once the connection has stayed up for Config.Settle after the event was
// written: a collector that goes away takes the connection with it (the stream reads from it and sees it close),
// and what was written in its last Settle is sent again on the next connection. A SIEM may therefore hold an event
// twice; the tenant and sequence number identify it. An event a collector accepted and then lost itself is not
// sent again: that needs acknowledgements syslog over TLS does not have.
//
// The backlog is bounded by nothing but the log itself: the stream holds at most Config.Batch events in memory and
// reads the rest from the store, which keeps them. The hub reports each collector's backlog and raises an alert
// from wire.CollectorBacklogAlert events on.
//
// Files:
//   - auditstream.go: the Streamer, one worker per collector, its connection, cursor and state.
//   - message.go: the RFC 5424 messages of an event (JSON or CEF) and of a signed head, and the framing.
//   - rsyslog_test.go: the stream against a real rsyslog with TLS on loopback, stopped and started again.
package auditstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// Config tunes a Streamer; the zero value is usable.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time // the time recorded in the store; tests move it
	// Host is the HOSTNAME of the messages ("-" when empty).
	Host string
	// Head returns the tenant's signed chain head; nil sends none.
	Head func(ctx context.Context, tenant int64) (*Head, error)
	// HeadEvery is how often a collector gets a signed head (default an hour); one goes out at each connection.
	HeadEvery time.Duration
	// Poll is how often the collectors and the chain are read again without a Wake (default 2 s).
	Poll time.Duration
	// Settle is how long a connection must stay up after an event was written before the cursor moves past it
	// (default 5 s).
	Settle time.Duration
	// Retry is the wait before a new connection after a failure (default 5 s).
	Retry time.Duration
	// Batch is the most events read from the store at once (default 256).
	Batch int
}

// State is a collector's connection as the stream last saw it.
type State struct {
	Connected bool
	Error     string // why the last connection failed or ended
}

// Streamer streams the audit logs of a store's tenants to their collectors. Create it with New, run it with Run.
type Streamer struct {
	st  store.Store
	cfg Config

	mu      sync.Mutex
	state   map[int64]State
	workers map[int64]*worker
}

type worker struct {
	c      store.Collector
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a Streamer over st.
func New(st store.Store, cfg Config) *Streamer {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.HeadEvery, time.Hour)
	def(&cfg.Poll, 2*time.Second)
	def(&cfg.Settle, 5*time.Second)
	def(&cfg.Retry, 5*time.Second)
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	return &Streamer{st: st, cfg: cfg, state: map[int64]State{}, workers: map[int64]*worker{}}
}

// State returns collector id's state; a collector the stream has not reached yet is not connected.
func (s *Streamer) State(id int64) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[id]
}

// Wake tells every worker that events were committed or collectors changed.
func (s *Streamer) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Run streams until ctx ends: it reads the collectors every Poll and keeps one worker per collector.
func (s *Streamer) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("audit stream: read collectors", "err", err)
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			ws := s.workers
			s.workers = map[int64]*worker{}
			s.mu.Unlock()
			for _, w := range ws {
				w.cancel()
				<-w.done
			}
			return
		case <-t.C:
		}
	}
}

// sync starts a worker for each new collector and stops those of deleted ones.
func (s *Streamer) sync(ctx context.Context) error {
	var all []store.Collector
	err := s.st.Read(ctx, func(tx store.Tx) error {
		tenants, err := tx.Tenants()
		if err != nil {
			return err
		}
		for _, t := range tenants {
			cs, err := tx.Collectors(t.ID)
			if err != nil {
				return err
			}
			all = append(all, cs...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[int64]bool{}
	for _, c := range all {
		keep[c.ID] = true
		if _, ok := s.workers[c.ID]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{c: c, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
		s.workers[c.ID] = w
		go func() {
			defer close(w.done)
			s.work(wctx, w)
		}()
	}
	for id, w := range s.workers {
		if !keep[id] {
			w.cancel()
			delete(s.workers, id)
			delete(s.state, id)
		}
	}
	return nil
}

func (s *Streamer) setState(id int64, st State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.workers[id]; ok {
		s.state[id] = st
	}
}

// work connects to the collector again and again until ctx ends.
func (s *Streamer) work(ctx context.Context, w *worker) {
	for ctx.Err() == nil {
		conn, err := dial(ctx, w.c)
		if err == nil {
			s.setState(w.c.ID, State{Connected: true})
			err = s.stream(ctx, w, conn)
			conn.Close()
		}
		if ctx.Err() != nil {
			return
		}
		s.cfg.Logger.Warn("audit stream: collector unreachable", "collector", w.c.Name, "err", err)
		s.setState(w.c.ID, State{Error: err.Error()})
		select {
		case <-ctx.Done():
		case <-time.After(s.cfg.Retry):
		}
	}
}

// dial opens the TLS connection to c, trusting only its CA certificate.
func dial(ctx context.Context, c store.Collector) (*tls.Conn, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(c.CAPEM)) {
		return nil, fmt.Errorf("audit collector %q: its CA certificate is not PEM", c.Name)
	}
	host, _, err := net.SplitHostPort(c.Address)
	if err != nil {
		return nil, fmt.Errorf("audit collector %q: address %q: %w", c.Name, c.Address, err)
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second},
		Config: &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return nil, fmt.Errorf("audit collector %q at %s: %w", c.Name, c.Address, err)
	}
	return conn.(*tls.Conn), nil
}

// mark is an event written at a time: the cursor moves to seq once the connection outlived at + Settle.
type mark struct {
	seq int64
	at  time.Time
}

// stream sends the events after the collector's cursor, then each new one, and a signed head every HeadEvery,
// until the connection ends or ctx does.
func (s *Streamer) stream(ctx context.Context, w *worker, conn *tls.Conn) error {
	c := w.c
	closed := make(chan error, 1)
	go func() {
		// A syslog collector never writes: a read returns only when the connection ends.
		var b [1]byte
		_, err := conn.Read(b[:])
		if err == nil {
			err = errors.New("the collector wrote to the stream")
		}
		closed <- fmt.Errorf("audit collector %q closed the connection: %w", c.Name, err)
	}()
	var cur *store.Collector
	if err := s.st.Read(ctx, func(tx store.Tx) error {
		var err error
		cur, err = tx.Collector(c.TenantID, c.ID)
		return err
	}); err != nil {
		return err
	}
	sent, headAt := cur.SentSeq, time.Time{} // a head at each connection: the SIEM learns the chain's state now
	var marks []mark
	tick := time.NewTicker(min(s.cfg.Settle/2+1, s.cfg.Poll))
	defer tick.Stop()
	write := func(msg []byte) error {
		conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := conn.Write(Frame(msg)); err != nil {
			return fmt.Errorf("audit collector %q: write: %w", c.Name, err)
		}
		return nil
	}
	for {
		var evs []store.AuditEvent
		if err := s.st.Read(ctx, func(tx store.Tx) error {
			var err error
			evs, err = tx.AuditEvents(c.TenantID, wire.AuditQuery{AfterSeq: sent, Limit: s.cfg.Batch})
			return err
		}); err != nil {
			return err
		}
		for _, e := range evs {
			if err := write(Event(wireEvent(e), s.cfg.Host, c.Format)); err != nil {
				return err
			}
			sent = e.Seq
		}
		if len(evs) > 0 {
			marks = append(marks, mark{sent, time.Now()})
		}
		if s.cfg.Head != nil && len(evs) < s.cfg.Batch && (headAt.IsZero() || time.Since(headAt) >= s.cfg.HeadEvery) {
			h, err := s.cfg.Head(ctx, c.TenantID)
			if err != nil {
				return err
			}
			if h != nil {
				if err := write(HeadMessage(*h, s.cfg.Host)); err != nil {
					return err
				}
			}
			headAt = time.Now()
			if err := s.st.Write(ctx, func(tx store.Tx) error { return tx.SetCollectorHead(c.TenantID, c.ID, s.cfg.Now().UTC()) }); err != nil {
				return err
			}
		}
		if len(evs) == s.cfg.Batch { // more to read: check the connection and go on
			select {
			case err := <-closed:
				return err
			default:
			}
		} else {
			select {
			case err := <-closed:
				return err
			case <-ctx.Done():
				return ctx.Err()
			case <-w.wake:
			case <-tick.C:
			}
		}
		// The connection is up: what was written a Settle ago has been taken.
		var settled int64
		for len(marks) > 0 && time.Since(marks[0].at) >= s.cfg.Settle {
			settled, marks = marks[0].seq, marks[1:]
		}
		if settled > 0 {
			if err := s.st.Write(ctx, func(tx store.Tx) error { return tx.SetCollectorSent(c.TenantID, c.ID, settled, s.cfg.Now().UTC()) }); err != nil {
				return err
			}
		}
	}
}

// wireEvent is a stored event as the wire and the exports carry it.
func wireEvent(e store.AuditEvent) wire.AuditEvent {
	return wire.AuditEvent{Seq: e.Seq, At: e.At, ActorKind: e.ActorKind, ActorID: e.ActorID, Action: e.Action, Target: e.Target,
		Detail: e.Detail, Hash: e.Hash, PrevHash: e.PrevHash, Tenant: e.TenantID}
}
