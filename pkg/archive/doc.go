// Package archive keeps the local message archive (pkg/store) in step with
// the server: it turns incoming messages, carbons (XEP-0280) and archive
// results (XEP-0313) into stored records, and syncs an archive page by
// page with de-duplication against everything that arrives live meanwhile.
//
// Identity rules: a message is known by the archive's stanza-id
// (XEP-0359, by = the archive JID). Copies without one (what we sent,
// carbons of what our other devices sent) are known by origin-id, else
// message id, plus sender and recipient; when their archived copy comes
// back, the stored record adopts the archive's id instead of being stored
// twice.
package archive
