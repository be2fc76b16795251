// Package aesgcm implements the file side of XEP-0454 OMEMO Media
// Sharing: AES-256-GCM over a whole file with a 12-byte random IV and the
// 16-byte authentication tag appended after the ciphertext, and the
// aesgcm:// URL that carries the IV and key in its fragment.
//
// Why GCM is built here from AES-CTR and GHASH: crypto/cipher's AEAD seals
// and opens whole messages (Seal and Open take and return one []byte), so
// a file would have to sit in memory, twice, to be encrypted or checked.
// XEP-0454 has no chunking (one IV, one tag for the whole file), so a
// chunked format (minio/sio, tink's streaming AEAD) cannot produce or read
// it, and no maintained Go library exposes GHASH or an incremental GCM. GCM
// (NIST SP 800-38D) is CTR mode with inc32 counters starting at J0+1 plus a
// GHASH over the ciphertext, and both run incrementally: the keystream is
// crypto/cipher's CTR (AES itself stays in the standard library, with its
// hardware support); only GHASH, a multiplication in GF(2^128), is written
// here (ghash.go, table-driven, from the specification). It is proved
// equal to crypto/cipher's GCM, bit for bit, by a differential fuzz test
// at every length (0, 1, 15, 16, 17, large, both IV sizes) and by NIST test
// vectors; BenchmarkSeal measures it against the standard library.
//
// Decryption cannot know the plaintext is authentic before the last byte:
// Decrypter writes plaintext as it goes and Close reports a wrong tag, so
// callers write to a hidden temporary file and give it its name only after
// Close returned nil.
package aesgcm
