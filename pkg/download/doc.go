// Package download fetches shared files: the https GET URLs of XEP-0363
// HTTP File Upload and the aesgcm:// URLs of XEP-0454 OMEMO Media Sharing,
// whose ciphertext it decrypts and authenticates on the way.
//
// Everything streams through fixed buffers (memory does not grow with the
// file). A server is not trusted: redirects are followed only to https and
// only a few times, the body must be exactly what Content-Length says and
// at most MaxSize, and a transfer that stops moving ends with a stall
// error. Plaintext of an encrypted file is written to the caller's writer
// before its tag is checked; Get's error is the verdict, so callers write
// to a temporary file and keep it only when Get returned nil.
package download
