// Package pgshare is what hub replicas on one PostgreSQL database share besides the store: the change feed that
// wakes every replica's long polls (notify.Feed over LISTEN/NOTIFY) and the session advisory lock that lets one
// replica at a time stream the audit log (hub.Exclusive).
//
// Both hold a connection of their own (pgx), opened from the store's DSN, so a multi-host DSN with
// target_session_attrs=read-write follows a failover like the store does. Neither is the source of truth:
//
//   - A notification is a hint. PostgreSQL does not queue one for a listener that is away, nor replicate it to a
//     standby, so the feed calls its resync after every (re)connection (the Notifier then reads each tenant's
//     stored revision and wakes whatever moved), and the Notifier finds a lost one by its revision. A dead
//     server that keeps its TCP connection open is found by a ping after IdleCheck without a notification.
//   - The lock is PostgreSQL's: a replica that dies loses its session and with it the lock, and another takes it
//     at its next try. A replica whose lock connection fails stops what it ran before it tries again.
//
// Files:
//   - pgshare.go: Feed (channel Channel, the JSON payload of a notify.Change, widened past the 8000-byte limit)
//     and Lock.
//   - pgshare_test.go: both against a real PostgreSQL (WATCHWORD_TEST_PG), with their connections killed.
package pgshare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/watchword/watchword/console/server/hub/notify"
)

// Channel is the PostgreSQL notification channel of the hubs' changes. Notifications are per database, not per
// schema: a store in another schema than public (as tests make them) uses Channel, "_" and the schema's name, so
// that hubs of different stores in one database do not take each other's changes.
const Channel = "watchword_changes"

// channelOf is the channel of the store conn reaches (Channel, per schema).
func channelOf(ctx context.Context, conn *pgx.Conn) (string, error) {
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("current schema: %w", err)
	}
	if schema == "public" || schema == "" {
		return Channel, nil
	}
	return Channel + "_" + schema, nil
}

// MaxPayload is the largest notification payload PostgreSQL takes (8000 bytes, less one).
const MaxPayload = 7999

// AuditStreamKey is the advisory lock key of the audit stream ("WWAUDIT" and 1), which nothing else takes.
const AuditStreamKey int64 = 0x5757_4155_4449_5401

// Feed is a notify.Feed over PostgreSQL's LISTEN/NOTIFY. Create it with NewFeed.
type Feed struct {
	dsn string
	log *slog.Logger
	// IdleCheck is how long the listener waits for a notification before it pings the server (default 15 s).
	IdleCheck time.Duration
	// MaxBackoff bounds the wait between reconnections, which doubles from 50 ms (default 5 s).
	MaxBackoff time.Duration

	mu         sync.Mutex
	pub        *pgx.Conn // the publishing connection, opened again after a failure
	pubChannel string

	listenMu  sync.Mutex
	listenPID uint32 // the listening connection's backend, for tests that kill it
}

// NewFeed returns a feed over the database at dsn (a postgres:// URL or key=value string).
func NewFeed(dsn string, log *slog.Logger) *Feed {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Feed{dsn: dsn, log: log, IdleCheck: 15 * time.Second, MaxBackoff: 5 * time.Second}
}

// Encode is c as a notification payload: JSON, widened to every tech when its lists do not fit (notify.Change.Widen).
func Encode(c notify.Change) (string, error) {
	b, err := json.Marshal(c)
	if err == nil && len(b) > MaxPayload {
		c.Widen()
		b, err = json.Marshal(c)
	}
	if err != nil {
		return "", fmt.Errorf("change of tenant %d: %w", c.Tenant, err)
	}
	return string(b), nil
}

// Publish notifies every listener of c. A failed connection is opened again once.
func (f *Feed) Publish(ctx context.Context, c notify.Change) error {
	payload, err := Encode(c)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for try := 0; ; try++ {
		if f.pub == nil || f.pub.IsClosed() {
			if f.pub, err = pgx.Connect(ctx, f.dsn); err == nil {
				if f.pubChannel, err = channelOf(ctx, f.pub); err != nil {
					f.pub.Close(context.Background())
				}
			}
			if err != nil {
				f.pub = nil
				return fmt.Errorf("publish change of tenant %d: connect: %w", c.Tenant, err)
			}
		}
		_, err = f.pub.Exec(ctx, "SELECT pg_notify($1, $2)", f.pubChannel, payload)
		if err == nil || try > 0 || ctx.Err() != nil {
			break
		}
		f.pub.Close(context.Background())
		f.pub = nil
	}
	if err != nil {
		return fmt.Errorf("publish change of tenant %d: %w", c.Tenant, err)
	}
	return nil
}

// Close closes the publishing connection; Listen ends with its context.
func (f *Feed) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pub == nil {
		return nil
	}
	err := f.pub.Close(context.Background())
	f.pub = nil
	return err
}

// ListenerPID is the server process of the listening connection (0 when not listening): a test terminates it to
// see the feed reconnect and resync.
func (f *Feed) ListenerPID() uint32 {
	f.listenMu.Lock()
	defer f.listenMu.Unlock()
	return f.listenPID
}

func (f *Feed) setListener(pid uint32) {
	f.listenMu.Lock()
	f.listenPID = pid
	f.listenMu.Unlock()
}

// Listen delivers every change until ctx ends, connecting again with a growing backoff whenever the connection
// fails, and calling resync each time it listens again.
func (f *Feed) Listen(ctx context.Context, deliver func(notify.Change), resync func(context.Context)) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		err := f.listen(ctx, deliver, resync, func() { backoff = 50 * time.Millisecond })
		f.setListener(0)
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("replica changes: listening connection lost, connecting again", "after", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, f.MaxBackoff)
	}
}

// listen is one listening connection: it returns why it ended.
func (f *Feed) listen(ctx context.Context, deliver func(notify.Change), resync func(context.Context), listening func()) error {
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	channel, err := channelOf(ctx, conn)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	f.setListener(conn.PgConn().PID())
	listening()
	// What was committed while no one listened is found in the tables, never in the channel.
	resync(ctx)
	for {
		wctx, cancel := context.WithTimeout(ctx, f.IdleCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			var c notify.Change
			if err := json.Unmarshal([]byte(n.Payload), &c); err != nil {
				f.log.Warn("replica changes: a notification that is not a change", "err", err)
				continue
			}
			deliver(c)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Quiet: make sure the server is still there (a dead host may leave the socket open).
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return err
		}
	}
}

// Lock is a session-level advisory lock: one process at a time holds it among all on the database, and loses it
// with its session. Create it with NewLock; it implements hub.Exclusive.
type Lock struct {
	dsn string
	key int64
	log *slog.Logger
	// Every is how often a process that does not hold the lock tries to take it; one that holds it checks its
	// connection twice as often, and one that takes it waits Every before it runs anything, so that a holder whose
	// session ended has stopped by then (default 2 s).
	Every time.Duration

	mu  sync.Mutex
	pid uint32 // the holding connection's backend
}

// NewLock returns the lock key on the database at dsn.
func NewLock(dsn string, key int64, log *slog.Logger) *Lock {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lock{dsn: dsn, key: key, log: log, Every: 2 * time.Second}
}

// HolderPID is the server process of the connection holding the lock here (0: not held here).
func (l *Lock) HolderPID() uint32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pid
}

// Run calls fn whenever this process holds the lock, with a context that ends when it loses it, until ctx ends.
func (l *Lock) Run(ctx context.Context, fn func(context.Context)) {
	for ctx.Err() == nil {
		if err := l.hold(ctx, fn); err != nil && ctx.Err() == nil {
			l.log.Warn("advisory lock: connection lost", "key", l.key, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(l.Every):
		}
	}
}

// hold connects, waits until it takes the lock, runs fn while the connection lives and returns when either
// ends.
func (l *Lock) hold(ctx context.Context, fn func(context.Context)) error {
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	channel, err := channelOf(ctx, conn)
	if err != nil {
		return err
	}
	key := l.key
	if channel != Channel { // a store in its own schema: a lock of its own
		h := fnv.New64a()
		h.Write([]byte(channel))
		key ^= int64(h.Sum64())
	}
	for {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
			return fmt.Errorf("take: %w", err)
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(l.Every):
		}
	}
	// A holder whose session was ended checks it every Every/2: it has stopped before this one starts.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(l.Every):
	}
	l.mu.Lock()
	l.pid = conn.PgConn().PID()
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.pid = 0
		l.mu.Unlock()
	}()
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return nil
		case <-time.After(l.Every / 2):
		}
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := conn.Ping(pctx)
		pcancel()
		if err != nil {
			return fmt.Errorf("lost, with its session: %w", err)
		}
	}
}
