// Package aesgcm implements the file side of XEP-0454 OMEMO Media
// Sharing: AES-256-GCM over a whole file with a 12-byte random IV and the
// 16-byte authentication tag appended after the ciphertext, and the
// aesgcm:// URL that carries the IV and key in its fragment.
//
// Why GCM is put together here: crypto/cipher's AEAD seals and opens whole
// messages (Seal and Open take and return one []byte), so a file would
// have to sit in memory, twice, to be encrypted or checked. XEP-0454 has no
// chunking (one IV, one tag for the whole file), so chunked formats
// (minio/sio, tink's streaming AEAD) cannot produce or read it, and no
// maintained Go library exposes GHASH or an incremental GCM. GCM (NIST SP
// 800-38D) is CTR mode with inc32 counters from J0+1 plus a GHASH over the
// ciphertext, and both run incrementally. The keystream is crypto/cipher's
// CTR (restarted where inc32 wraps, gcm.go). GHASH is taken from
// crypto/cipher's GCM too: the tag of an empty plaintext with associated
// data A is GHASH(A) times H plus known terms, and GHASH is linear, so a
// stream is hashed 32 KiB at a time with the library's (hardware) GHASH
// and one field multiplication per chunk written here from the
// specification (ghash.go). No AES or GHASH inner loop is hand-written.
// The result is proved equal to crypto/cipher's GCM, bit for bit, by a
// differential fuzz test at every length (0, 1, 15, 16, 17, around the
// chunk size, large; both IV sizes; any read/write chunking) and by the
// GCM specification's AES-256 test vectors. BenchmarkSeal compares the
// throughput with crypto/cipher's one-shot Seal.
//
// Decryption cannot know the plaintext is authentic before the last byte:
// Decrypter writes plaintext as it goes and Close reports a wrong tag, so
// callers write to a hidden temporary file and give it its name only after
// Close returned nil.
package aesgcm
