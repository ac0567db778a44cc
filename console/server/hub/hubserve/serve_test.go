package hubserve_test

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// listen serves h's hub on a loopback port with cfg until the test ends.
func listen(t *testing.T, h *hubtest.Harness, cfg hubserve.Config) *hubserve.Server {
	t.Helper()
	srv, err := hubserve.Listen(h.Hub, "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	return srv
}

// TestConnectionCap: Listen holds at most MaxConns connections; a further client waits to be accepted and is
// served as soon as one closes.
func TestConnectionCap(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	srv := listen(t, h, hubserve.Config{MaxConns: 2})
	addr := srv.Addr().String()
	handshake := func() (net.Conn, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 600 * time.Millisecond}, "tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	var held []net.Conn
	for range 2 {
		c, err := handshake()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	third := make(chan error, 1)
	go func() {
		c, err := handshake()
		if err == nil {
			c.Close()
		}
		third <- err
	}()
	select {
	case err := <-third:
		t.Fatalf("a third connection was served with two held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	inv := h.Hub.Invite(srv.URL, h.GUID)
	c, err := hubclient.New(inv, h.OwnerID)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Tenant(ctx); err != nil {
		t.Fatalf("a request once a connection closed: %v", err)
	}
	held[1].Close()
}
