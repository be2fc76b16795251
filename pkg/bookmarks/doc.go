// Package bookmarks implements XEP-0402 PEP Native Bookmarks: the rooms an
// account keeps, as items of its PEP node urn:xmpp:bookmarks:1, one item
// per room (item id = room JID), readable by the account alone (access
// model whitelist), as many as the user keeps (max_items max).
package bookmarks
