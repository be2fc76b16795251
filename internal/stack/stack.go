// Package stack grows a goroutine's stack ahead of deep work, to keep a
// one-shot command's peak RSS down (issue 16).
//
// A goroutine starts with a 2 KiB stack that doubles whenever a call needs
// more; each doubling copies the stack and, for every frame on it, reads
// the function's stack maps from the binary's pclntab. The login goroutine
// (TLS handshake, key exchange, XML) reached 32 KiB through four copies,
// the last ones with thirty-odd frames of crypto/tls and go-xmpp on the
// stack: those reads alone paged in ~0.8 MiB of pclntab that nothing else
// needs (the kernel maps 64 KiB around each fault), a third of what a
// one-shot `send` adds to its peak RSS over start-up (measured with a
// uprobe on runtime.copystack and /proc/PID/pagemap at exit; see
// bench/send.sh). Growing the stack once, first thing, while it holds a
// frame or two, costs one short copy instead.
package stack

// Reserve8K, Reserve16K and Reserve32K make the calling goroutine's stack
// at least that large. The frame is what matters: its size makes the
// function's prologue grow the stack before the body runs.
//
//go:noinline
func Reserve8K() { var pad [6 << 10]byte; keep(pad[:]) }

// Reserve16K: see Reserve8K.
//
//go:noinline
func Reserve16K() { var pad [12 << 10]byte; keep(pad[:]) }

// Reserve32K: see Reserve8K.
//
//go:noinline
func Reserve32K() { var pad [28 << 10]byte; keep(pad[:]) }

// keep stops the compiler from dropping pad; it does not let it escape.
//
//go:noinline
func keep([]byte) {}

// The main goroutine grows its stack during package initialisation too,
// three times, each copy reading the stack maps of whatever initialisers
// happen to be on it. This package imports nothing, so its initialiser
// runs among the first (the Go spec's order: by import path, as soon as a
// package's imports are initialised), with the stack nearly empty.
func init() { Reserve32K() }
