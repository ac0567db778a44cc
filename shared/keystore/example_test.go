package keystore_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/watchword/watchword/shared/keystore"
)

// The TechClient loads its device identity at start, creating it on the first
// run, and tells the user where it is kept. Here the keyring is disabled, as
// on a machine without one, so the passphrase file is used.
func ExampleLoadOrCreateIdentity() {
	dir, _ := os.MkdirTemp("", "keystore-example-")
	defer os.RemoveAll(dir)

	st, err := keystore.New(keystore.Options{
		Service: "watchword-techclient",
		Dir:     filepath.Join(dir, "keys"),
		Keyring: keystore.NoKeyring, // omit to use the OS keyring
		// Cheap for the example; leave 0 for age's default (about a second).
		ScryptWorkFactor: 10,
		Passphrase: func(create bool) (string, error) {
			// A real application asks the user (twice when create is true).
			return "correct horse battery staple", nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	id, backend, err := keystore.LoadOrCreateIdentity(st, "device")
	if err != nil {
		log.Fatal(err)
	}
	again, _, err := keystore.LoadOrCreateIdentity(st, "device")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(backend.Describe())
	fmt.Println(again.Public().ID() == id.Public().ID())
	// Output:
	// No system keyring is available: your device key is kept in a file sealed with your passphrase.
	// true
}

func ExampleStore_Probe() {
	st, _ := keystore.New(keystore.Options{Service: "watchword-techclient", Dir: os.TempDir(), Keyring: keystore.NoKeyring})
	backend, why := st.Probe()
	fmt.Println(backend)
	fmt.Println(why)
	// Output:
	// file
	// keystore "watchword-techclient": os keyring unavailable: disabled by configuration
}
