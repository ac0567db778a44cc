// Package e2e holds the end-to-end story of TechIDManager's co-managed tech guide as one test, TestE2E, run by
// `make e2e` and by `make test`. It builds and starts the real watchword-hub and watchword-agent binaries, points the agents at the
// real test targets of scripts/targets.sh (the Samba AD DC, the OpenSSH host, later the OpenLDAP directory), and
// drives the TechClient and Console view-models (techclient/vm, console/vm) the way the apps' screens do, with no
// window and no human:
//
//  1. two MSP techs, two domains, the default All triplet: both techs get working accounts on both;
//  2. two co-managed techs register and show as pending with their devices' fingerprints;
//  3. the co-managed onboarding (CMTG, MSPTG, CMDG, two triplets, the All triplet gone, techs activated);
//  4. the co-managed techs see exactly one account, on the AD domain, and the hub refuses them the SSH host;
//  5. a forced rotation reaches every TechClient within 1 s of the confirm; the new password binds and logs in over
//     Kerberos (kinit) and SMB/NTLM (smbclient), the old one is refused by all three;
//  6. a deactivated tech's AD account is disabled within 5 s (bind answers data 533) and their list empties;
//  7. a new MSP tech gets accounts on both domains;
//  8. a newly enrolled domain joins AllDomains: MSP techs get accounts there, co-managed techs do not;
//  9. the hub's database and logs hold none of the run's passwords;
//  10. watchword-hub recovery export writes the account's envelopes as .age files, and the recovery identity opens
//     one with the plain age command;
//  11. the audit log verifies and holds every approval, onboarding change, rotation, reveal and deactivation;
//  12. the organization's Microsoft 365 tenant (Microsoft Graph's test server, internal/testsupport/graphtest) gets
//     an entra agent and a directory role for its domains: a co-managed tech's cloud account appears on their
//     TechClient with that role and the password it shows, and when the tech is deactivated it is disabled, its
//     role removed, and it leaves the list.
//
// Each step prints one line with its measured latency, and the run ends with "e2e: 12 passed, 0 failed", shown by
// `go test ./...` without -v. Without the targets (WATCHWORD_TARGETS_ENV unset) the test skips, except under
// CI=true where it fails.
//
// TestReplicas (replicas_test.go) is the story of several hubs: two watchword-hub processes with one hub key on the
// PostgreSQL cluster of scripts/pgcluster.sh (Patroni, a primary and a synchronous standby, started and stopped by
// the test through internal/testsupport/pgcluster), an agent on the Samba DC and TechClients pinned to one replica
// or the other. A rotation confirmed through one replica reaches a TechClient long-polling the other within 1 s; a
// replica SIGKILLed under load, then the database primary's node, lose no confirmed version and lock nobody out
// (every account logs in with a stored envelope's password). It ends with "replicas: N kills, 0 confirmed lost,
// 0 lockouts". BenchmarkReplicas runs the same for make bench. It needs root for the cluster: without it the test
// skips, and under CI=true fails.
//
// Files: e2e_test.go (the story), device_test.go (a TechClient view-model), procs_test.go (building and running the
// binaries), targets_test.go (logins to the targets), compromise_test.go (TestHubCompromise), replicas_test.go.
package e2e
