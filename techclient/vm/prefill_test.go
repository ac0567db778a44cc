package vm

import (
	"io"
	"testing"
)

func TestParseArgs(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	login := func() string { return `CONTOSO\Alice` }

	p, err := ParseArgs([]string{"--invite", " watchword-invite:abc ", "--username", "bob"}, getenv, login, io.Discard)
	if err != nil || p.Invite != "watchword-invite:abc" || p.Username != "bob" {
		t.Fatalf("flags: %+v, %v", p, err)
	}
	env[EnvInvite], env[EnvUsername] = "watchword-invite:env", "carol"
	p, err = ParseArgs(nil, getenv, login, io.Discard)
	if err != nil || p.Invite != "watchword-invite:env" || p.Username != "carol" {
		t.Fatalf("environment: %+v, %v", p, err)
	}
	delete(env, EnvUsername)
	if p, _ = ParseArgs(nil, getenv, login, io.Discard); p.Username != "alice" {
		t.Fatalf("login name without its domain, lower case: got %q", p.Username)
	}
	delete(env, EnvInvite)
	if p, _ = ParseArgs(nil, getenv, login, io.Discard); p.Username != "" || p.Invite != "" {
		t.Fatalf("no deployment, no guess: got %+v", p)
	}
	if p, _ = ParseArgs([]string{"--version"}, getenv, nil, io.Discard); p.Username != "" {
		t.Fatalf("no login function, no username: got %q", p.Username)
	}
	if _, err := ParseArgs([]string{"stray"}, getenv, login, io.Discard); err == nil {
		t.Fatal("a stray argument was accepted")
	}
	if _, err := ParseArgs([]string{"--nope"}, getenv, login, io.Discard); err == nil {
		t.Fatal("an unknown flag was accepted")
	}
}
