// Package disco implements XEP-0030 Service Discovery (disco#info and
// disco#items) with XEP-0004/XEP-0128 data forms, and the lookups other
// packages use to find a service (upload, proxy65, MUC) among the server's
// items.
package disco

// Namespaces of XEP-0030 and XEP-0004.
const (
	NSInfo  = "http://jabber.org/protocol/disco#info"
	NSItems = "http://jabber.org/protocol/disco#items"
	NSData  = "jabber:x:data"
)
