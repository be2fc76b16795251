// Package conn is xmppctl's connection to an XMPP server and the only
// importer of github.com/xmppo/go-xmpp.
//
// It resolves the account's server (RFC 6120 SRV and XEP-0368 direct TLS),
// enforces the TLS policy (verified certificates, an optional CA file or
// pinned key, never plaintext authentication), chooses the SASL mechanism
// itself (go-xmpp's automatic choice fails against common servers, see
// login.go), binds a stable per-installation resource and then runs one
// receive loop that matches IQ responses to requests, dispatches incoming
// requests and fans messages and presences out to subscribers. Writes are
// serialized; Flush is a barrier that returns once the server has processed
// everything sent before it.
package conn
