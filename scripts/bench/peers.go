package main

import (
	"fmt"
	"strings"
)

const peersIntro = `The same machine, the same Samba DC and the same run: the peers that run here are measured beside Watchword,
interleaved (A B A B …), each with its own account of the same kind, made by the product's AD driver. The benchmarks
live in ` + "`" + peersDir + "`" + `, a Go module of its own, so that Vault's dependencies never enter the product's go.mod or
binaries (` + "`go list -m all`" + ` at the top of the tree lists no Vault module). **Vault** is HashiCorp's LDAP secrets engine
(github.com/hashicorp/vault-plugin-secrets-openldap v0.17.0 with vault/sdk v0.20.0), its backend run in-process as its own
tests run it: in-memory storage, no Vault core, no lease manager, schema ` + "`ad`" + `, LDAPS with the targets' CA, and
Watchword's own password generator registered as its password policy, so that both set comparable passwords. **age** is
filippo.io/age, the library and the ` + "`age`" + ` command, both from the release the product's go.mod requires.`

const peersNotes = `What each side does, for reading the ratios:

- Vault's ` + "`rotate-role`" + ` generates a password, writes it to its storage in a write-ahead entry (in clear), then opens
  two admin connections to the DC (a TLS handshake and a bind each: one for a search of the DN, one for the unicodePwd
  replace). It never checks the new password: no bind as the account. Watchword's cycle seals the password to the tech's
  device and the recovery recipient, stages the envelope at the hub (durably, before the directory changes), sets it on
  a kept admin connection, binds as the account to verify it, and confirms. "Vault with a verify bind" adds to Vault's
  samples the static-cred read and a bind with the password it hands out, measured outside its clock.
- One Vault backend rotates its static roles one at a time, under one lock, whatever the parallelism of the callers.
- Vault's library check-out makes no LDAP call: the pool account stays enabled with the password its last check-in set,
  and anyone who read that password earlier can use it until the check-in. Watchword's just-in-time account is disabled
  outside its window and gets a fresh password for each one.
- An AD refusal (a password the domain's policy rejects) comes back from Vault as the DC's message, and Vault retries in
  the background; Watchword's drivers tell such a refusal apart (the old password is known to be in place, so the staged
  version is marked failed rather than unresolved), and the runner retries at its retry time.`

// published writes the figures of peers that cannot run here beside Watchword's measured ones.
func published(md *strings.Builder, get func(string) *result) {
	v := func(key, name, unit string) string {
		if res := get(key); res != nil {
			return ms(res.first(name, unit))
		}
		return "—"
	}
	fmt.Fprintf(md, "\n### Peers that cannot run here\n\n")
	fmt.Fprintf(md, "Their published figures, beside what Watchword measured in this run.\n\n")
	fmt.Fprintf(md, "| peer | what | published | source | Watchword, measured here |\n|---|---|---|---|---|\n")
	tim := "vendor documentation (Ruffian Software's TechIDManager material; not among the sources stored with this project)"
	fmt.Fprintf(md, "| TechIDManager | a new tech's accounts on every domain | within 1 hour | %s | approve a tech → its new account on the Samba DC binds with the password its device opens: median %s, p99 %s (one agent) |\n",
		tim, v("access", "BenchmarkOnboarding", "p50-ms"), v("access", "BenchmarkOnboarding", "p99-ms"))
	agents := "—"
	if res := get("offboard"); res != nil {
		agents = num(res, "BenchmarkOffboarding100", "agents")
	}
	fmt.Fprintf(md, "| TechIDManager | deactivation of a tech | within 1 hour | %s | deactivate → disabled on all %s agents: p99 %s (offboarding row) |\n",
		tim, agents, v("offboard", "BenchmarkOffboarding100", "all-p99-ms"))
	fmt.Fprintf(md, "| TechIDManager | just-in-time access | about 1 minute | %s | request → a bind works: p99 %s (JIT enable row) |\n",
		tim, v("jit", "BenchmarkJITEnable", "p99-ms"))
	fmt.Fprintf(md, "| Windows LAPS | background processing: an expired password or a changed policy is handled at the next cycle | every hour | Microsoft Learn, \"Key concepts in Windows LAPS\", background policy processing cycle (learn.microsoft.com/windows-server/identity/laps/laps-concepts-overview) | "+
		"an agent acts when its long poll wakes: one rotation on demand %s (median), a rotated password shown on the TechClient p99 %s (push latency row) |\n",
		v("ondemand", "BenchmarkRotateOnDemand", "ww-ms"), v("push", "BenchmarkPushLatency", "p99-ms"))
	fmt.Fprintf(md, "| CyberQP | — | no latency figure in the sources available here | — | — |\n")
}
