package seal_test

import (
	"fmt"
	"log"
	"strings"

	"filippo.io/age"
	"github.com/watchword/watchword/shared/seal"
)

// A technician's device creates its identity once and registers the public
// half; the agent seals each new password to it and to the tenant's recovery
// recipient; the device opens it.
func Example() {
	device, err := seal.GenerateIdentity() // on the technician's device
	if err != nil {
		log.Fatal(err)
	}
	recovery, err := age.GenerateHybridIdentity() // kept offline by the MSP owner
	if err != nil {
		log.Fatal(err)
	}

	// The agent knows the device's public key (one line) and the recovery
	// recipient ("age1pq1…").
	pub, err := seal.ParsePublicKey(device.Public().String())
	if err != nil {
		log.Fatal(err)
	}
	rec, err := seal.ParseRecipient(recovery.Recipient().String())
	if err != nil {
		log.Fatal(err)
	}
	ctx := seal.Context{Tenant: "5f0c3d2e", Agent: "contoso.local", Account: "alice-ctso", Version: 1}
	env, err := seal.Seal([]byte("Tr0ub4dor&3"), ctx, pub, rec)
	if err != nil {
		log.Fatal(err)
	}

	// Back on the device.
	secret, err := seal.Open(env, ctx, device)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", secret)
	// Output: Tr0ub4dor&3
}

func ExampleOpen_wrongContext() {
	device, _ := seal.GenerateIdentity()
	sealedFor := seal.Context{Tenant: "5f0c3d2e", Agent: "contoso.local", Account: "alice-ctso", Version: 2}
	env, _ := seal.Seal([]byte("pw"), sealedFor, device.Public())

	// The same envelope presented as Bob's account is refused.
	presentedAs := sealedFor
	presentedAs.Account = "bob-ctso"
	_, err := seal.Open(env, presentedAs, device)
	fmt.Println(err)
	// Output: open envelope: bound to another context: sealed for tenant "5f0c3d2e" agent "contoso.local" account "alice-ctso" version 2, want tenant "5f0c3d2e" agent "contoso.local" account "bob-ctso" version 2
}

func ExampleGenerateIdentity() {
	id, err := seal.GenerateIdentity()
	if err != nil {
		log.Fatal(err)
	}
	// String is the secret form, for the keystore; fmt prints it redacted.
	fmt.Println(strings.HasPrefix(id.String(), "WW1SECRET."))
	fmt.Println(strings.Contains(fmt.Sprint(id), "REDACTED"))
	fmt.Println(strings.HasPrefix(id.Public().String(), "ww1pub."))
	// Output:
	// true
	// true
	// true
}

func ExampleFingerprint_String() {
	var f seal.Fingerprint
	for i := range f {
		f[i] = byte(i)
	}
	fmt.Println(f)
	for _, line := range f.Lines() {
		fmt.Println(line)
	}
	// Output:
	// 00001 00515 01029 01543 02057 02571 03085 03599 04113 04627 05141 05655 06169 06683 07197 07711
	// 00001 00515 01029 01543
	// 02057 02571 03085 03599
	// 04113 04627 05141 05655
	// 06169 06683 07197 07711
}

func ExampleParseFingerprint() {
	device, _ := seal.GenerateIdentity()
	shown := device.Public().Fingerprint()

	// What the admin typed, with dashes, from what the technician read out.
	typed := strings.ReplaceAll(shown.String(), " ", "-")
	f, err := seal.ParseFingerprint(typed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f == shown)
	// Output: true
}

func ExampleKeyID() {
	device, _ := seal.GenerateIdentity()
	cert, _ := device.TLSCertificate()

	// The hub learns who is calling from the TLS peer certificate alone.
	pub, err := seal.PeerKey(cert.Leaf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(seal.KeyID(pub) == device.Public().ID(), len(seal.KeyID(pub)))
	// Output: true 52
}

func ExampleParseRecipient() {
	classic, _ := age.GenerateX25519Identity()
	_, err := seal.ParseRecipient(classic.Recipient().String())
	fmt.Println(err)
	// Output: parse recipient: malformed: not an age1pq1 hybrid recipient
}
