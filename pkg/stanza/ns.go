package stanza

// Namespaces shared by more than one package.
const (
	NSClient   = "jabber:client"
	NSStanzas  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSPing     = "urn:xmpp:ping"
	NSSID      = "urn:xmpp:sid:0"
	NSDelay    = "urn:xmpp:delay"
	NSForward  = "urn:xmpp:forward:0"
	NSOOB      = "jabber:x:oob"
	NSReceipts = "urn:xmpp:receipts"
	NSMUC      = "http://jabber.org/protocol/muc"
	NSMUCUser  = "http://jabber.org/protocol/muc#user"
	NSSM       = "urn:xmpp:sm:3"
)
