// Package hubserve puts a hub on the network: the hub's key file, its TLS (a self-signed certificate whose key
// clients pin through the invite, TLS 1.3, client certificates requested and checked by the hub's handlers),
// listening with a cap on the connections held, the PROXY protocol from the load balancers it is told of, and
// graceful shutdown.
//
// # Reading guide
//
//   - serve.go: Config, TLSConfig, Listen and the running Server.
//   - conns.go: the listener that holds at most Config.MaxConns connections.
//   - proxy.go: the PROXY protocol header required from Config.ProxyFrom and refused from anyone else, whose
//     client address becomes the connection's remote address (github.com/pires/go-proxyproto parses it).
//   - identity.go: LoadOrCreateIdentity, the hub's key file.
//   - replicas.go: Replicas, the PostgreSQL change feed and audit stream lock of a hub among replicas.
//
// Tests: serve_test.go (the connection cap), proxy_test.go (the PROXY protocol's policy on a plain listener,
// and FuzzProxyConn with its seeds in testdata/fuzz), haproxy_test.go (a real HAProxy in front of a hub, and
// install.md's configuration of it).
//
// The command line (package hubcli) and the Console's own embedded hub call Listen; tests that need no real
// listener serve hub.Handler over httptest with TLSConfig.
package hubserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub"
)

// DefaultMaxConns is Config.MaxConns when unset.
const DefaultMaxConns = 16_384

// Config tunes Listen. The zero value is usable.
type Config struct {
	// MaxConns caps the connections Listen holds at once (default DefaultMaxConns); beyond it a new connection
	// waits to be accepted until one closes.
	MaxConns int
	// ProxyFrom lists the load balancers (HAProxy in TCP passthrough) whose connections open with a PROXY protocol
	// header, version 2 or 1: the hub takes the client's address (flood limits, API identities' sources, logs)
	// from it. A listed load balancer's connection without a valid header is closed; a header from any other
	// address is refused. Empty: every connection's peer is its client, as without a load balancer.
	ProxyFrom []netip.Prefix
}

// TLSConfig is the hub's server TLS: its own self-signed certificate (clients pin its key), TLS 1.3, and client
// certificates requested but verified by the handlers, since every client certificate is self-signed and the key
// is the identity.
func TLSConfig(h *hub.Hub) (*tls.Config, error) {
	cert, err := h.Certificate()
	if err != nil {
		return nil, fmt.Errorf("hub certificate: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// Server is a running hub listener.
type Server struct {
	URL    string // https://host:port
	srv    *http.Server
	ln     net.Listener
	err    chan error
	cancel context.CancelFunc // ends long polls at shutdown
	// background are the hub's goroutines beside the API (the audit stream, the other replicas' changes): Shutdown
	// waits for them, so that the caller may close the store they read once it returns.
	background sync.WaitGroup
}

// Listen serves h on addr (e.g. "127.0.0.1:0" for a random port, as the Console's embedded hub does). It first
// seals any TOTP secret an older hub left in clear in the database.
func Listen(h *hub.Hub, addr string, cfg Config) (*Server, error) {
	tcfg, err := TLSConfig(h)
	if err != nil {
		return nil, err
	}
	log := h.Logger()
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	n, err := h.SealTOTPSecrets(sctx)
	cancel()
	if err != nil {
		return nil, err
	}
	if n > 0 {
		log.Info("sealed TOTP secrets stored in clear", "count", n)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Server{
		cancel: cancel,
		URL:    "https://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           h.Handler(),
			TLSConfig:         tcfg,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      h.MaxWait() + 30*time.Second, // long polls
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    32 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // handshake noise
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		ln:  ln,
		err: make(chan error, 1),
	}
	s.background.Go(func() { h.StreamAudit(base) })   // ends with base, at Shutdown
	s.background.Go(func() { h.FollowChanges(base) }) // the other replicas' changes (Replicas); at once done for a hub alone on its store
	held := capConns(ln, maxConns)
	if len(cfg.ProxyFrom) > 0 {
		held = proxyListener(held, cfg.ProxyFrom, log)
	}
	go func() {
		err := s.srv.Serve(tls.NewListener(held, tcfg))
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.err <- err
	}()
	return s, nil
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting, lets requests in flight finish until ctx ends, then closes what is left (long polls).
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	done := make(chan struct{})
	go func() { s.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("the hub's background work did not end: %w", ctx.Err()))
	}
	return errors.Join(err, <-s.err)
}

// Wait blocks until the server stops and returns why.
func (s *Server) Wait() error {
	err := <-s.err
	s.err <- err
	return err
}
