// Package rotation is the agent's rotation engine, free of any target or transport: the password policy, the
// schedule, and the rotation cycle as an explicit state machine.
//
// # The cycle
//
// One rotation of one account walks these states, in this order, and never skips one:
//
//	New → Generated → Staged → Set → Verified → Confirmed
//
// Generated: a fresh password from the [Policy], checked against the target's complexity rules.
// Staged: the password sealed (package seal) to the tech's device keys and the tenant's recovery recipient, and the
// envelope stored at the hub ([Hub.Stage] returns only once it is durable). Set: the password written to the target.
// Verified: a bind or login with it succeeded, once. Confirmed: the hub told that this version is live.
//
// The order is the product's no-lockout promise: the target is only ever given a password whose envelope the hub
// already holds, so whatever happens next, the password on the target is one that some stored envelope opens.
//
// Failures end the cycle in one of two terminal states:
//
//   - [StateFailed]: it failed before the target was touched (generation, sealing, staging, or a target that
//     definitively refused the password, see [ErrNotApplied]). The target keeps its previous password; the staged
//     version, if any, is marked failed at the hub ([Hub.Fail]).
//   - [StateUnresolved]: it failed or was interrupted once the set may have reached the target. Nothing is retried
//     with the same password — a retry could lock the account and would break the "one version, one password"
//     record. The cure is a fresh rotation: a new password under a new version ([Rotator.RotateFresh] does that,
//     bounded). The unconfirmed version stays staged, so its owner can still open it in the meantime.
//
// # Crash hooks
//
// [Rotator.Hook] is called at each step boundary ([AfterStage], [DuringSet], [AfterSet], [AfterVerify],
// [AfterConfirm]). A hook that returns an error stops the cycle on the spot, as a crash would: no further hub or
// target call is made, not even [Hub.Fail]. A fault-injection test can also kill the process from the hook.
//
// # Schedule
//
// [Schedule] computes when an account is next due from the time its last version was CONFIRMED at the hub, never
// from what the target reports (AD's pwdLastSet may lag behind on another domain controller through replication
// delay; reading it would make a rotation look overdue and loop). Each account gets a deterministic offset inside
// the jitter window, so thousands of accounts enrolled together do not rotate in the same second.
package rotation
