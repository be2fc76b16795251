// Package roster implements the roster and presence subscriptions of
// RFC 6121 (§2 roster management, §3 managing presence subscriptions,
// §3.4 pre-approved subscription requests).
//
// Roster pushes are remote input: a push is accepted only from the
// account itself (no 'from', or the account's bare JID), as RFC 6121
// §2.1.6 requires; anything else is refused and ignored, so that no other
// entity can make us believe our roster changed.
//
// Pending incoming subscription requests are not part of the roster: the
// server keeps them and re-sends each as a <presence type='subscribe'/>
// whenever the account makes a resource available, until it is answered
// (RFC 6121 §3.1.3). Prosody does so while it processes the session's
// initial presence, before anything the session sends after it (read in
// mod_presence.lua of Prosody 0.12: after the probes and the presences of
// the account's other resources). Requests therefore needs a session that
// sent an initial presence: pkg/conn's sessions always do (go-xmpp sends
// one at login; Options.Unavailable withdraws it only afterwards).
package roster
