// Package faults holds no code: its tests are the fault half of Watchword's reliability and security suite
// (docs/security.md). They break things for real and check that nothing is lost and no one is locked out:
//
//   - the watchword-hub binary is killed with SIGKILL in the middle of staging and confirming under load, then
//     restarted on the same database (PRAGMA integrity_check, every confirmed version still there, clients and an
//     agent runner carry on by themselves);
//   - the Samba DC of scripts/targets.sh becomes unreachable in the middle of a rotation, before and after the
//     new password was set (the version fails or is rotated afresh; the confirmed password always binds);
//   - Microsoft Graph (internal/testsupport/graphtest, through a relay) stops in the middle of an Entra ID
//     rotation, before and after the new password was written, or throttles it (429 with Retry-After, 503, 504);
//     the tenant's own smart lockout counts toward lockouts;
//   - the hub's disk fills up (a small tmpfs; root only);
//   - the agent's clock is ten minutes ahead of or behind the hub's (no rotation loop).
//
// Every scenario also greps what it leaves behind (database, WAL, logs) for every password and private key it
// saw. TestMain prints the summary lines `fault scenarios: N, data lost: N, lockouts: N`, `secret leaks: N` and
// `fuzz targets: N`. WATCHWORD_SOAK=1 makes the scenarios longer (make soak).
package faults
