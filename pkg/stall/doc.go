// Package stall ends transfers in which no byte moves any more. A peer
// that stops reading or writing without closing its end would otherwise
// hold a command forever: --timeout bounds every single wait, and waiting
// for the next byte of a transfer is one of them.
package stall
