// Package store is xmppctl's local state: one SQLite file (modernc.org/sqlite,
// no cgo) in the data directory, in WAL mode, with a versioned schema.
//
// It holds the message archive (keyed by the archive's XEP-0359 stanza-id,
// with origin-id/message id + sender + recipient as the fallback identity
// for copies that carry no stanza-id), the sync point of every archive
// (the last archive id stored, per account, archive and filter), and the
// read state of each chat. Every write of a batch happens in one
// transaction: an interrupted sync loses nothing it committed and resumes
// after it.
package store
