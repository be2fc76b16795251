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
//
// # Stream management (XEP-0198)
//
// Stream management is enabled wherever the server offers it (Options.NoSM
// turns it off): Flush is then an <r/> answered by <a h/>, and Acks tells
// which stanzas the server acknowledged. go-xmpp passes the nonzas up as
// "unexpected XMPP message" errors without their attributes, and answers
// pings itself, so the counts come from a scan of the top-level elements
// of both directions of the stream in the debug tap (smscan.go).
//
// A broken XEP-0198 session cannot be resumed with go-xmpp v0.4.1, so the
// commands that survive a lost connection log in again and send again what
// was not acknowledged (pkg/outbox, pkg/retry). The evidence, from the
// v0.4.1 source in the module cache:
//
//   - the module does not contain the namespace "urn:xmpp:sm" at all: no
//     <enable/>, <resume/> or <resumed/> handling, no h counter;
//   - resumption means sending <resume previd h/> after authentication
//     instead of binding a resource, but Client.init always binds:
//     classic bind right after SASL (xmpp.go:1373-1381, "if !bind2 {"
//     ... "<bind xmlns=...>"), or Bind2 inline in the SASL2 <authenticate>
//     (xmpp.go:608, bind2Data), whose only other inline child is the FAST
//     request (xmpp.go:628, 887, 1188): there is no inline XEP-0198
//     <resume/>, and Options has no hook between authentication and bind;
//   - it then always sends an initial presence (xmpp.go:1412), which a
//     resumed session must not;
//   - the connection is private to the Client (the unexported conn field)
//     and NewClient is the only way to authenticate, so the resume cannot
//     be written by us at the right moment either.
//
// Without resumption, a stanza the server handled just before the loss,
// whose <a/> never arrived, is not known to have arrived; pkg/outbox asks
// the account's archive (XEP-0313) before sending such messages again.
package conn
