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
//
// # The resource: the same on every login
//
// Every session of a data dir binds a resource of its own that is the same
// on every login (identity.go, slot.go, relay.go):
//
//   - Slots. The data dir stores one random resource and one UUIDv4
//     user-agent id. A session takes slot 0 (exactly those) by an
//     exclusive flock on resource-0.lock in the data dir; if another live
//     process holds it, slot 1, 2, … (resource + ".N", and a user-agent id
//     hashed from the stored one and N, so Bind2 derives a distinct stable
//     resource too). Without slots, a `send` from cron next to a running
//     `listen` bound the same resource on servers without SASL2, and the
//     server replaced the listener ("Replaced by new connection", seen on
//     ejabberd 23.01). The kernel drops the lock when the process ends; a
//     closed session hands its slot back to its own process, which keeps
//     the lock until it exits, so a reconnect (listen dials again while
//     the dead session's close may still be waiting) binds the same
//     resource and does not lose its slot to another process meanwhile.
//   - Classic bind (no SASL2: ejabberd 23.01, Prosody without mod_sasl2)
//     binds the slot's resource. SASL2 with Bind2 and a SCRAM (or FAST)
//     login: go-xmpp sends the user-agent id, from which the server derives
//     the resource (Prosody: tag~hash(id)).
//   - SASL2 with Bind2 and PLAIN, the one path go-xmpp v0.4.1 cannot keep
//     stable: its SASL2 PLAIN branch writes <authenticate> with the Bind2
//     request but without <user-agent> (xmpp.go, init: the "PLAIN" case
//     under "if sasl2", unlike the SCRAM and ANONYMOUS ones), so the server
//     makes up a new resource each time (Prosody's mod_sasl2_bind2 uses a
//     random id.medium() when the session has no client id). PLAIN is what
//     logs in to Prosody 0.12 (SCRAM fails there, see login.go), so this is
//     the default test server and a common real one. TestContractSASL2PlainNoUserAgent
//     fences that behaviour: when it fails, go-xmpp sends the user-agent
//     and the relay can go.
//
// Nothing in go-xmpp's Options avoids that path. From the v0.4.1 source:
// SASL2 is used whenever the features carry <authentication
// xmlns='urn:xmpp:sasl:2'> and the connection is a *tls.Conn (init:
// "if f.Authentication.Mechanism != nil && c.IsEncrypted()"), Bind2
// whenever that offer has an inline <bind xmlns='urn:xmpp:bind:0'/>; no
// option is read in either decision. Options.Resource is used only by the
// classic bind ("if !bind2"); UserAgentID/UserAgentSW only in the SCRAM
// and ANONYMOUS <authenticate>; NoTLS without TLS is plaintext
// authentication (refused); Mechanism only picks among the offered
// mechanisms; HTTP_PROXY/socks5 tunnel the TCP connection, under go-xmpp's
// own TLS, so nothing can be changed there.
//
// So the login relay (relay.go) is used only when it is needed: the
// mechanism is PLAIN and the server offers SASL2 with Bind2 (seen in this
// login's features after a stronger mechanism failed, or remembered per
// server in sasl2-bind2.json next to sasl-mechanisms.json; when nothing is
// known yet it is used and passes the stream unchanged if there is nothing
// to hide). go-xmpp connects with direct TLS to a one-shot loopback
// listener; the relay connects to the real target with the real TLS policy
// and forwards bytes, removing the SASL2 <authentication> element from the
// first features after TLS when the classic <mechanisms> also offer PLAIN.
// go-xmpp then logs in exactly as to a server without SASL2 (classic SASL
// PLAIN, stream restart, classic bind of the slot's resource), the path
// TestContractRelayLogin and the ejabberd and XMPP_SASL2=0 test servers
// exercise. Why this is not weaker than a direct login:
//
//   - the server's certificate is verified by the relay with the same
//     tls.Config (CA file, pin or --insecure exactly as requested), by
//     STARTTLS or direct TLS as the target says, before a byte of the
//     login is forwarded (TestRelayVerifiesServer);
//   - the loopback leg is TLS 1.3 with an ephemeral certificate for the
//     domain that only this go-xmpp client's tls.Config trusts, and the
//     relay requires an ephemeral client certificate only that client has:
//     no other local process can read or use it (TestRelayRefusesOtherClients);
//     the listener closes once the client is in;
//   - channel binding cannot pass through (the client's TLS session is not
//     the server's), which is why the relay is used for PLAIN only, the
//     mechanism that has none;
//   - the password still travels only inside the server's TLS session.
//
// The relay streams: it holds back only the stream header and the first
// features element (at most 64 KiB), then copies bytes both ways; closing
// either side closes the other (so go-xmpp's Close, a freeze detected by
// listen's keepalive, or a server that hangs up end both). Its socket to
// the server is new in the process when go-xmpp's first write happens, so
// the login's /proc lookup finds it (loginSocket), and the relay pushes
// quick ACKs on it itself after the login (quickack.go); the loopback leg
// needs none (Go sockets have Nagle off). LoginInfo.StreamFeatures reports
// the features as the server sent them, not go-xmpp's filtered copy;
// --debug-xml shows go-xmpp's side and says so with a NOTE line. Limits: a
// server remembered as offering no SASL2 that starts offering it gets one
// login with a server-chosen resource (the next one knows); a server that
// offers SASL2 with PLAIN only and no classic PLAIN keeps SASL2 (go-xmpp
// would find nothing else to log in with), and its resource changes; with
// HTTP_PROXY set, go-xmpp's connection goes through that proxy and the
// relay is not used (the resource then changes on such a server).
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
//   - Direct writes (TestContractDirectWrite): that field is the connection
//     go-xmpp writes the stream to, unbuffered, so stanzas the session
//     writes to it itself after login (direct.go: SendOrg copies each one
//     three times) reach the server in order with go-xmpp's writes. If it
//     breaks: directWriter finds nothing and SendOrg is used, as before.
//   - The stream decoder (TestContractDecoder): *xmpp.Client has an
//     unexported field "p" of type *xml.Decoder from which it reads the
//     stream (through DebugWriter's tee), and after login nothing but Recv
//     and Close read it. The receive loop reads it itself (read.go: one
//     decoding per stanza, straight into the stanza types, instead of
//     Recv's decoding, re-encoding and convert.go's rebuilding), doing
//     what Recv did besides (pings, versions, pubsub events, nonzas,
//     stream errors); TestReadMatchesRecv checks that it gives everything
//     Recv gave. If it breaks: decoderOf finds nothing and the loop goes
//     through Recv, and the Recv assumptions below apply again.
//   - The decoder's read-ahead can be taken over (TestContractHandoff):
//     encoding/xml's Decoder keeps its source in an unexported field "r"
//     (a *bufio.Reader over go-xmpp's tee, whose field "r" is the
//     connection), a put-back byte in "nextByte", the prefixes in scope
//     in "ns" and a held-back token in "nextToken". After login the
//     session takes those bytes and the connection and frames the stream
//     itself (handoff.go, frame.go), decoding plain messages with
//     forward.TopMessage; through the relay it then reads the server's
//     connection (relay.go, stopReads), and writes to it too once go-xmpp's
//     side is closed for writing and the relay has forwarded what go-xmpp
//     wrote (stopWrites: go-xmpp writes nothing after login that the
//     session does not write itself, when it does not read through Recv).
//     TestFramedMatchesDecoder checks
//     that it gives exactly what the decoder gave. If it breaks:
//     takeStream changes nothing and the loop reads the decoder.
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
//     (service-unavailable: the session never sets ReportSoftwareVersion)
//     and Recv does not return them. Only the fallback loop depends on it:
//     read.go answers pings itself and hands version queries to the IQ
//     handlers (pkg/online's).
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
//   - SASL2 PLAIN without user-agent (TestContractSASL2PlainNoUserAgent):
//     the reason for the relay, see above. If it breaks: go-xmpp sends the
//     user-agent and the relay is unnecessary (but harmless).
//   - Classic login without the SASL2 offer (TestContractRelayLogin): with
//     <authentication xmlns='urn:xmpp:sasl:2'> removed from the features,
//     go-xmpp logs in with classic SASL and binds Options.Resource, over
//     a TLSConfig whose roots, server name and client certificate it uses
//     as given. If it breaks: the relayed login fails loudly (the test
//     logs in through the relay over STARTTLS and direct TLS).
//
// TestContractDialSession runs the whole of Dial, Flush and Close against
// the same scripted server. The integration tests (integration_test.go)
// repeat the socket assumptions against the real Prosody and ejabberd.
package conn
