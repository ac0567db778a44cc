package keystore

// DefaultScryptWorkFactor is log2 of scrypt's N (r=8, p=1) for a new passphrase file: 2^18, 256 MiB of memory and
// about 0.7 s of one core per unlock (BenchmarkUnlock), which is also what each guess costs someone holding a copy
// of the file. It is set here rather than left to age's default so that this figure, and docs/security.md's
// estimate of an attacker's rate built on it, cannot change with an age upgrade. A file records the factor it was
// sealed with, so raising this later leaves existing files readable.
const DefaultScryptWorkFactor = 18
