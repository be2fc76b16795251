// Package carbons implements XEP-0280 Message Carbons: enabling them for a
// session and unwrapping the <received/> and <sent/> copies the server
// forwards, after checking that they really come from our own account.
package carbons
