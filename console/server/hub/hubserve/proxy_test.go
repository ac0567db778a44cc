package hubserve_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
)

// echoAddr serves ln: each connection gets back the remote address its server sees, once it has said a line.
func echoAddr(t *testing.T, ln net.Listener) {
	t.Helper()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
					return
				}
				c.Write([]byte(c.RemoteAddr().String() + "\n"))
			}()
		}
	}()
}

// ask connects to addr from the address src, sends head (a PROXY header or nothing) and a line, and returns the
// address the server answers with, or "" when the server closed the connection without answering.
func ask(t *testing.T, src, addr string, head []byte) string {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(append(head, "hello\n"...)); err != nil {
		return ""
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimSpace(line)
}

func header(t *testing.T, version byte) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(version,
		&net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 4242}, &net.TCPAddr{IP: net.ParseIP("10.0.0.11"), Port: 8443})
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProxyPolicy: the PROXY protocol is required from the listed load balancer (127.0.0.1 here) and refused from
// anyone else (127.0.0.2), and the address in a trusted header is the connection's remote address.
func TestProxyPolicy(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &hubtest.SyncBuffer{}
	from, err := hubserve.ParseProxyFrom([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	ln := hubserve.ProxyListener(raw, from, slog.New(slog.NewTextHandler(logs, nil)))
	t.Cleanup(func() { ln.Close() })
	echoAddr(t, ln)
	addr := raw.Addr().String()

	for _, v := range []byte{2, 1} {
		if got := ask(t, "127.0.0.1", addr, header(t, v)); got != "203.0.113.7:4242" {
			t.Errorf("listed address with a v%d header: the server saw %q, want the header's 203.0.113.7:4242", v, got)
		}
	}
	if got := ask(t, "127.0.0.1", addr, nil); got != "" {
		t.Errorf("listed address without a header was served as %q", got)
	}
	if !strings.Contains(string(logs.Bytes()), "without a PROXY protocol header") || !strings.Contains(string(logs.Bytes()), "peer=127.0.0.1:") {
		t.Errorf("no log line names the refused headerless connection:\n%s", logs.Bytes())
	}
	if got := ask(t, "127.0.0.1", addr, []byte("PROXY TCP4 203.0.113.7 nowhere 1 2\r\n")); got != "" {
		t.Errorf("listed address with an invalid header was served as %q", got)
	}
	if !strings.Contains(string(logs.Bytes()), "PROXY protocol header is invalid") {
		t.Errorf("no log line names the invalid header:\n%s", logs.Bytes())
	}
	for _, v := range []byte{2, 1} {
		if got := ask(t, "127.0.0.2", addr, header(t, v)); got != "" {
			t.Errorf("unlisted address with a v%d header was served as %q", v, got)
		}
	}
	if !strings.Contains(string(logs.Bytes()), "not in --proxy-protocol-from") || !strings.Contains(string(logs.Bytes()), "peer=127.0.0.2:") {
		t.Errorf("no log line names the refused header from an unlisted address:\n%s", logs.Bytes())
	}
	if got := ask(t, "127.0.0.2", addr, nil); !strings.HasPrefix(got, "127.0.0.2:") {
		t.Errorf("unlisted address without a header: the server saw %q, want its own 127.0.0.2", got)
	}
}

func TestParseProxyFrom(t *testing.T) {
	got, err := hubserve.ParseProxyFrom([]string{"10.0.0.10", " 10.0.1.7/24", "2001:db8::1/64", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.10/32"), netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("2001:db8::/64")}
	if len(got) != len(want) {
		t.Fatalf("ParseProxyFrom = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ParseProxyFrom = %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"lb1", "10.0.0.0/33", "fe80::1%eth0"} {
		if _, err := hubserve.ParseProxyFrom([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("hubserve.ParseProxyFrom(%q) = %v, want an error naming it", bad, err)
		}
	}
}

// oneConn is a listener that hands out one connection, whose peer is the address given.
type oneConn struct {
	c    chan net.Conn
	addr net.Addr
}

func (l *oneConn) Accept() (net.Conn, error) {
	c, ok := <-l.c
	if !ok {
		return nil, net.ErrClosed
	}
	return c, nil
}
func (l *oneConn) Close() error   { return nil }
func (l *oneConn) Addr() net.Addr { return l.addr }

type peerConn struct {
	net.Conn
	peer net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.peer }

// serveBytes sends b on a connection from peer to a listener that trusts headers from 127.0.0.1, and returns what
// the server reads after the header and the remote address it sees, or served false when it refused the connection.
func serveBytes(t *testing.T, peer string, b []byte) (got []byte, remote string, served bool) {
	client, server := net.Pipe()
	ls := &oneConn{c: make(chan net.Conn, 1), addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}}
	ls.c <- peerConn{Conn: server, peer: &net.TCPAddr{IP: net.ParseIP(peer), Port: 50000}}
	close(ls.c)
	ln := hubserve.ProxyListener(ls, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, slog.New(slog.DiscardHandler))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		client.Write(b)
		client.Close()
	}()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err = io.ReadAll(c)
	if err != nil {
		return nil, "", false
	}
	return got, c.RemoteAddr().String(), true
}

// FuzzProxyConn: whatever a peer sends first, a header is believed only from the listed load balancer, which must
// send one; nothing the hub serves from anyone else is swallowed or readdressed; and plain TLS from anyone else is
// never refused. Seeds: testdata/fuzz/FuzzProxyConn (headers v2 and v1, IPv6, a health check's LOCAL, truncated,
// malformed, TLS and HTTP alone). Run longer with
//
//	go test ./console/server/hub/hubserve -run '^$' -fuzz FuzzProxyConn -fuzztime 30s
func FuzzProxyConn(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		hdr, herr := proxyproto.Read(bufio.NewReader(bytes.NewReader(b)))
		if herr != nil {
			hdr = nil
		}

		got, remote, served := serveBytes(t, "127.0.0.2", b)
		switch {
		case served && (!bytes.Equal(got, b) || remote != "127.0.0.2:50000"):
			t.Fatalf("unlisted peer served as %s with %q, sent %q", remote, got, b)
		case served && hdr != nil:
			t.Fatalf("unlisted peer's header %v was not refused", hdr)
		case !served && len(b) > 0 && b[0] != 'P' && b[0] != '\r':
			t.Fatalf("unlisted peer refused without a header signature: %q", b)
		}

		got, remote, served = serveBytes(t, "127.0.0.1", b)
		if !served {
			return
		}
		if hdr == nil {
			t.Fatalf("listed peer served as %s without a header: %q", remote, b)
		}
		if !bytes.HasSuffix(b, got) {
			t.Fatalf("listed peer served %q, not what followed the header in %q", got, b)
		}
		want := "127.0.0.1:50000"
		if hdr.Command.IsProxy() && hdr.SourceAddr != nil {
			want = hdr.SourceAddr.String()
		}
		if remote != want {
			t.Fatalf("listed peer served as %s, want %s (header %v)", remote, want, hdr)
		}
	})
}
