package hubserve

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
)

// proxyHeaderTimeout bounds the wait for a load balancer's PROXY header; HAProxy sends it with the connection's
// first bytes, so a longer wait only holds a connection slot for a peer that is not one.
const proxyHeaderTimeout = 5 * time.Second

// ParseProxyFrom checks the load balancers' addresses given to --proxy-protocol-from: each a CIDR (10.0.0.0/24)
// or a bare address (10.0.0.10, a one-address network), in either family.
func ParseProxyFrom(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("proxy protocol source %q: not a CIDR (10.0.0.0/24) or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// proxyPolicy is the PROXY protocol's rule at the hub: a connection from a listed load balancer must open with a
// header, whose source address the hub then takes as the client's; any other connection is served as it is, and a
// header from it is refused, never trusted, since anyone could write one.
func proxyPolicy(from []netip.Prefix) proxyproto.ConnPolicyFunc {
	return func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
		if listed(from, o.Upstream) {
			return proxyproto.REQUIRE, nil
		}
		return proxyproto.REJECT, nil
	}
}

func listed(from []netip.Prefix, peer net.Addr) bool {
	ap, err := netip.ParseAddrPort(peer.String())
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range from {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// proxyListener applies proxyPolicy to ln's connections, and logs each connection refused for its header.
func proxyListener(ln net.Listener, from []netip.Prefix, log *slog.Logger) net.Listener {
	return &proxiedListener{
		Listener: &proxyproto.Listener{Listener: ln, ConnPolicy: proxyPolicy(from), ReadHeaderTimeout: proxyHeaderTimeout},
		from:     from,
		log:      log,
	}
}

type proxiedListener struct {
	*proxyproto.Listener
	from []netip.Prefix
	log  *slog.Logger
}

func (l *proxiedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return c, nil
	}
	return &proxiedConn{Conn: pc, listed: listed(l.from, pc.Raw().RemoteAddr()), log: l.log}, nil
}

// proxiedConn logs a connection refused for its PROXY header once, with the peer's own address and why, rather
// than leaving it to a TLS handshake error at debug level. The header is read at the connection's first Read
// (TLS reads the client's hello first), and a header error is what every Read returns from then on.
type proxiedConn struct {
	*proxyproto.Conn
	listed bool
	log    *slog.Logger
	once   sync.Once
}

func (c *proxiedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.once.Do(func() { c.refused(err) })
	}
	return n, err
}

// refused logs err if it is the header's: from a listed load balancer, any error before a header was accepted;
// from anyone else, a header sent at all.
func (c *proxiedConn) refused(err error) {
	peer := c.Raw().RemoteAddr().String()
	switch {
	case c.listed && c.ProxyHeader() != nil: // the header was good; this is the connection's own end
	case c.listed && errors.Is(err, proxyproto.ErrNoProxyProtocol):
		c.log.Warn("connection refused: a load balancer's connection without a PROXY protocol header", "peer", peer)
	case c.listed:
		c.log.Warn("connection refused: a load balancer's PROXY protocol header is invalid", "peer", peer, "err", err)
	case errors.Is(err, proxyproto.ErrSuperfluousProxyHeader):
		c.log.Warn("connection refused: a PROXY protocol header from an address not in --proxy-protocol-from", "peer", peer)
	}
}
