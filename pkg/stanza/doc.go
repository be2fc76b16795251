// Package stanza defines the XMPP stanza envelopes (RFC 6120/6121) that
// xmppctl sends and receives, the stanza error type, and the namespaces the
// protocol packages share. Outgoing stanzas are Go types marshalled with
// encoding/xml so that no user-supplied text can inject XML.
package stanza
