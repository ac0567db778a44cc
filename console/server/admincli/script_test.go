package admincli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchword/watchword/console/server/admincli"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestMain registers watchword as a command the scripts exec: the test binary runs admincli.Run as the real main
// does (cmd/watchword), exit status included, in a process of its own.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"watchword": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			err := admincli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			if err != nil {
				fmt.Fprintln(os.Stderr, "watchword:", err)
				if errors.Is(err, admincli.ErrUsage) {
					os.Exit(2)
				}
				os.Exit(1)
			}
		},
	})
}

// TestScripts runs testdata/*.txtar against one in-process hub. $HUB is its invite; the directory owner/ of each
// script's work directory holds the tenant owner's identity (watchword --config owner … acts as the owner). The
// commands below stand for what happens elsewhere: a tech's device registering, an agent enrolling, the hub's
// clock moving on, and an API identity set up in one step for scripts about something else.
func TestScripts(t *testing.T) {
	h := hubtest.New(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("HUB", h.Invite.String())
			return writeIdentity(filepath.Join(env.WorkDir, "owner"), h.Invite, h.OwnerID, "owner")
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"register": func(ts *testscript.TestScript, neg bool, args []string) { cmdRegister(ts, args, h) },
			"enrol":    func(ts *testscript.TestScript, neg bool, args []string) { cmdEnrol(ts, args, h) },
			"advance": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				h.Clock.Advance(d)
			},
			"apiid":   func(ts *testscript.TestScript, neg bool, args []string) { cmdAPIID(ts, args, h) },
			"capture": cmdCapture,
		},
	})
}

func writeIdentity(dir string, inv wire.Invite, id *seal.Identity, name string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(map[string]string{"invite": inv.String(), "key": id.String(), "name": name})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "identity.json"), b, 0o600)
}

func ctx30() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// register USERNAME [ORGANIZATION]: a tech's device registers (a pending tech).
func cmdRegister(ts *testscript.TestScript, args []string, h *hubtest.Harness) {
	if len(args) < 1 {
		ts.Fatalf("usage: register USERNAME [ORGANIZATION]")
	}
	ctx, cancel := ctx30()
	defer cancel()
	id, err := seal.GenerateIdentity()
	ts.Check(err)
	req := wire.RegisterRequest{Username: args[0], DisplayName: args[0], Email: args[0] + "@example.com"}
	if len(args) > 1 {
		req.Organization = args[1]
	}
	_, err = h.Client(id).Register(ctx, req)
	ts.Check(err)
}

// enrol NAME: an agent enrols with an approve-on-use token (active at once).
func cmdEnrol(ts *testscript.TestScript, args []string, h *hubtest.Harness) {
	ctx, cancel := ctx30()
	defer cancel()
	tok, err := h.Owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	ts.Check(err)
	id, err := seal.GenerateIdentity()
	ts.Check(err)
	_, err = h.Client(id).Enroll(ctx, wire.EnrollRequest{Token: tok.Token, Name: args[0], Driver: wire.DriverLinux, Version: "test"})
	ts.Check(err)
}

// apiid DIR NAME ROLE [ORGANIZATION]: an approved API identity of that role, its identity file in DIR, made as
// `watchword init` and an owner's approval would make it (apiidentity.txtar does it step by step).
func cmdAPIID(ts *testscript.TestScript, args []string, h *hubtest.Harness) {
	if len(args) < 3 {
		ts.Fatalf("usage: apiid DIR NAME ROLE [ORGANIZATION]")
	}
	ctx, cancel := ctx30()
	defer cancel()
	req := wire.InviteRequest{Role: wire.Role(args[2]), API: true}
	if len(args) > 3 {
		req.Organization = args[3]
		if _, err := h.Owner.CreateOrg(ctx, args[3]); err != nil && !errors.Is(err, hubclient.ErrConflict) {
			ts.Fatalf("create organization %s: %v", args[3], err)
		}
	}
	tok, err := h.Owner.Invite(ctx, req)
	ts.Check(err)
	id, err := seal.GenerateIdentity()
	ts.Check(err)
	resp, err := h.Client(id).Claim(ctx, tok.Token, args[1])
	ts.Check(err)
	_, err = h.Owner.ApproveAdmin(ctx, resp.Admin.ID)
	ts.Check(err)
	ts.Check(writeIdentity(ts.MkAbs(args[0]), h.Invite, id, args[1]))
}

// capture VAR FILE REGEXP sets $VAR to the first group of REGEXP's first match in FILE.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: capture VAR FILE REGEXP")
	}
	m := regexp.MustCompile(args[2]).FindStringSubmatch(ts.ReadFile(args[1]))
	if len(m) < 2 {
		ts.Fatalf("%s: no match for %s", args[1], args[2])
	}
	ts.Setenv(args[0], m[1])
}

// TestInstallScriptMatchesTheDocs: the RMM script rmmscript.txtar runs is the one docs/install.md shows.
func TestInstallScriptMatchesTheDocs(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sh\n(#!/bin/sh\n# new-tech\\.sh.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/install.md shows no new-tech.sh")
	}
	ar, err := os.ReadFile("testdata/rmmscript.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(ar), "-- new-tech.sh --\n"+string(m[1])) {
		t.Fatal("testdata/rmmscript.txtar's new-tech.sh differs from docs/install.md's")
	}
}
