// Package listen keeps an xmppctl session online and receiving: it enables
// carbons (XEP-0280), stores every incoming and carbon-copied message in
// the local archive exactly once, answers receipt requests (XEP-0184) and
// chat marker requests (XEP-0333, "received"), tracks read state (a
// "displayed" marker or a reply sent from another of our devices marks a
// chat read) and notices when another of our devices is active in a chat,
// so that notifications can be held back meanwhile.
//
// Run reconnects with exponential backoff when the connection is lost and
// catches up through the archive (XEP-0313) from the last archived message
// it saw, so that nothing sent meanwhile is missed, and nothing is
// reported twice: a message is reported only when the store did not have
// it yet.
package listen
