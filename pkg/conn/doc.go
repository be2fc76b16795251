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
// # What pkg/conn assumes of go-xmpp
//
// go-xmpp's API does not promise the behaviours below; pkg/conn depends on
// them. Each is asserted by a contract test of the same name
// (contract_test.go: the real client over loopback against a scripted
// server, run by plain go test), so an upgrade that changes one fails with
// the assumption named. With each, what happens if it breaks.
//
//   - Debug framing (TestContractDebugFraming): with Options.Debug, every
//     read of the decrypted stream reaches DebugWriter as one write,
//     "RECV " + the bytes + "\n" unless they end in one, and every write as
//     "SEND " + the bytes; SendOrg writes its argument verbatim. The tap
//     (tap.go) parses this for the SASL mechanisms, the stream features,
//     --debug-xml, the presence watch and error presences. If it breaks:
//     no mechanism memory or ladder (go-xmpp's own choice only), empty
//     `check` stream details, no caps from presences, garbled --debug-xml.
//   - Debug before Recv (TestContractDebugBeforeRecv): a stanza's bytes are
//     written to DebugWriter before Recv returns it, so the tap's copies are
//     complete when the receive loop looks them up. If it breaks: error
//     presences fall back to go-xmpp's condition (below).
//   - Login features in the debug stream (TestContractLoginFeaturesInDebug):
//     every <stream:features> of the login passes through DebugWriter
//     (LoginInfo.StreamFeatures, the mechanism ladder).
//   - The conn field (TestContractConnField): *xmpp.Client has an unexported
//     field "conn" of type net.Conn, a *tls.Conn over the *net.TCPConn after
//     direct TLS and STARTTLS alike; sockOf reaches it by reflection to send
//     ACKs at once (quickack.go). If it breaks: sockOf returns nil and
//     sessions only pay the delayed-ACK stalls again.
//   - The login socket in /proc (TestContractLoginSocketInProc): go-xmpp
//     dials from this process with a plain TCP socket (no proxy variable
//     set), open by its first debug write, so the login finds it as the
//     one new socket in /proc/self/fd connected to the server's port
//     (quickack_linux.go). If it breaks: login runs without quick ACKs.
//   - Unknown top-level elements (TestContractRecvUnknownElement): Recv
//     fails with "unexpected XMPP message <ns> <local/>" for an element it
//     has no type for, having consumed only the start tag, and the stream
//     stays usable: that is how XEP-0198 <a/>, <r/>, <enabled/> and
//     <failed/> arrive (recv.go). (Children of such an element come next
//     as unknown elements of their own; the nonzas used have none.) If the
//     text changes: the error ends the session, so stream management
//     (Options.EnableSM) breaks loudly, not silently.
//   - Stream errors (TestContractRecvStreamError): a <stream:error/> ends
//     Recv with an error starting "stream error". If it breaks: the
//     session still ends as lost, with go-xmpp's text.
//   - Recoverable avatar errors (TestContractRecvEmptyAvatarEvent): an
//     XEP-0084 metadata event without items fails Recv with "no avatar
//     metadata items available" after the whole stanza was read; the
//     receive loop skips it. If it breaks: such an event ends the session.
//   - Chat shape (TestContractChatShape): messages arrive as xmpp.Chat with
//     id, type, xml:lang, subject, body, thread, origin-id, stanza-id, oob
//     and delay in fields and every other child, <error/> included, in
//     OtherElem (name, attributes with the xmlns declaration, inner XML);
//     the "to" attribute is dropped (convert.go assumes the session's JID).
//     Pubsub events go-xmpp recognises are returned as its own types and
//     dropped by convert.
//   - IQ shape (TestContractIQShape): requests and results with a payload
//     arrive as xmpp.IQ whose Query is the payload re-marshalled by
//     encoding/xml (its xmlns repeated as an attribute), an empty result as
//     an empty <XMLElement>, an error's condition, type and text in
//     IQ.Error (convertIQ).
//   - Disco and upload shapes (TestContractDiscoAndSlotShapes): disco#info
//     results arrive as DiscoResult, disco#items as DiscoItems (the sender
//     in Jid), XEP-0363 slots as Slot with header values as raw inner XML;
//     convert.go rebuilds the payloads from them (what they drop, like RSM
//     in disco#items, is lost).
//   - Presence shape (TestContractPresenceShape): MUC items are flattened
//     into Affiliation, Role and JID, other children (caps) dropped, and
//     Error is the local name of the LAST child of <error/>: "text" when a
//     text follows the condition (ejabberd). presenceerr.go rebuilds error
//     presences from the tap and the presence watch keeps the children; if
//     those fail, "text" becomes undefined-condition.
//   - Ping and version answered inside Recv (TestContractAnswersPingAndVersion):
//     go-xmpp answers XEP-0199 pings and XEP-0092 version queries itself
//     (Options.Version, else service-unavailable) and Recv does not return
//     them; stream-management counts may therefore be low, never high.
//   - Forced initial presence (TestContractInitialPresence): after binding,
//     go-xmpp sends an available presence that no option skips;
//     Options.Unavailable withdraws it, and OnOffline reports the offline
//     messages it caused to be flushed.
//   - Mechanism and JID (TestContractMechanismAndJID): after a SCRAM login
//     Client.Mechanism names the mechanism (remembered per server; after
//     PLAIN it is empty and the explicit choice is remembered), JID() is
//     the bound JID.
//   - Auth failure text (TestContractAuthFailure): a SASL <failure/> ends
//     NewClient with an error starting "auth failure", which classify turns
//     into AuthError (exit 4). If it breaks: a wrong password reports as a
//     connection error (exit 6).
//   - Close (TestContractClose): Client.Close writes </stream:stream>, then
//     reads the stream itself until the server's closing tag or EOF and
//     closes the socket; so session.Close calls it only after the receive
//     loop has ended, never concurrently with Recv.
//
// TestContractDialSession runs the whole of Dial, Flush and Close against
// the same scripted server. The integration tests (integration_test.go)
// repeat the socket assumptions against the real Prosody and ejabberd.
package conn
