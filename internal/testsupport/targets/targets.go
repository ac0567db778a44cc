// Package targets reads the environment file that scripts/targets.sh writes for the real test targets (Samba AD
// DC, OpenLDAP, OpenSSH, PostgreSQL on loopback), so integration tests and benchmarks anywhere in the module find
// them the same way:
//
//	scripts/targets.sh start
//	WATCHWORD_TARGETS_ENV=/tmp/watchword-targets/targets.env go test ./console/server/agent/...
//
// Without WATCHWORD_TARGETS_ENV an integration test skips — except under CI=true, where it fails: CI must never
// pass by skipping the real targets.
//
// Files: targets.go (the env file), login.go (Kerberos and SMB logins as a user), lock.go (account-churning
// tests one at a time), postgres.go (the PostgreSQL server's DSN and a fresh schema per test).
package targets

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// EnvVar names the variable that points at the env file.
const EnvVar = "WATCHWORD_TARGETS_ENV"

// Env is the parsed env file: KEY='value' lines.
type Env map[string]string

// Load parses the env file at path.
func Load(path string) (Env, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("targets env %q: %w", path, err)
	}
	defer f.Close()
	env := Env{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("targets env %q line %d: no '='", path, n)
		}
		if len(v) >= 2 && (v[0] == '\'' && v[len(v)-1] == '\'' || v[0] == '"' && v[len(v)-1] == '"') {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, sc.Err()
}

// Require loads the env file named by WATCHWORD_TARGETS_ENV, or skips tb (fails it when CI=true).
func Require(tb testing.TB) Env {
	tb.Helper()
	path := os.Getenv(EnvVar)
	if path == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set under CI=true: start the real targets with scripts/targets.sh start", EnvVar)
		}
		tb.Skipf("%s not set; run scripts/targets.sh start and point it at targets.env", EnvVar)
	}
	env, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// Get returns key's value, failing tb when it is missing.
func (e Env) Get(tb testing.TB, key string) string {
	tb.Helper()
	v, ok := e[key]
	if !ok || v == "" {
		tb.Fatalf("targets env: %s missing", key)
	}
	return v
}

// RootCAs is the private CA of the targets as a pool.
func (e Env) RootCAs() (*x509.CertPool, error) {
	path := e["WW_CA_CERT"]
	if path == "" {
		return nil, errors.New("targets env: WW_CA_CERT missing")
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("targets CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("targets CA %q: no certificate", path)
	}
	return pool, nil
}

// TLSConfig trusts the targets' CA, and nothing else.
func (e Env) TLSConfig(tb testing.TB) *tls.Config {
	tb.Helper()
	pool, err := e.RootCAs()
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
