package seal

import (
	"bytes"
	"testing"

	"filippo.io/age"
)

// The goal is at most 0.5 ms for each of Seal and Open of a 64-byte secret to
// one device and the recovery recipient (go test -bench . ./shared/seal).

func BenchmarkSeal(b *testing.B) {
	device, recovery := genIdentity(b), newRecovery(b)
	pub, rec := device.Public(), recovery.Recipient()
	secret := bytes.Repeat([]byte("s"), 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Seal(secret, testCtx, pub, rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	benchmarkOpen(b, func(device *Identity, _ *age.HybridIdentity) age.Identity { return device })
}

// BenchmarkOpenRecovery opens with the recovery identity, whose stanza comes
// last; Open tries it first, so it costs what a device's Open costs.
func BenchmarkOpenRecovery(b *testing.B) {
	benchmarkOpen(b, func(_ *Identity, recovery *age.HybridIdentity) age.Identity { return recovery })
}

// benchmarkOpen opens a 64-byte secret sealed to a device and the recovery
// recipient with the identity which picks.
func benchmarkOpen(b *testing.B, which func(device *Identity, recovery *age.HybridIdentity) age.Identity) {
	device, recovery := genIdentity(b), newRecovery(b)
	env, err := Seal(bytes.Repeat([]byte("s"), 64), testCtx, device.Public(), recovery.Recipient())
	if err != nil {
		b.Fatal(err)
	}
	id := which(device, recovery)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(env, testCtx, id); err != nil {
			b.Fatal(err)
		}
	}
}
