// Package muc implements the parts of XEP-0045 Multi-User Chat that a
// command-line client needs: checking that a room exists, joining it
// without history and waiting for the server to confirm the join; reading
// why a room removed us (status codes, <destroy/>); room information
// (disco#info with muc#roominfo) and service room lists; owner
// configuration through the XEP-0004 form, creation and destruction;
// affiliations (muc#admin); the subject. With it: XEP-0410 MUC Self-Ping,
// XEP-0421 occupant ids and XEP-0249 direct invitations.
//
// go-xmpp's Presence keeps only the affiliation, role and JID of the
// muc#user item (status codes and <destroy/> are dropped): the
// status codes of our own unavailable presence come from the session's
// presence watcher (conn.PresenceWatcher.UnavailableExt).
package muc
