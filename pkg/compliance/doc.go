// Package compliance reports how well an XMPP server serves modern clients,
// in the spirit of the public compliance testers and the XSF compliance
// suites (XEP-0479): for each area (TLS and discovery records, SASL and
// SASL2/Bind2/FAST, stream management, carbons, MAM, CSI, blocking, PEP,
// avatars and vCards, upload, proxy, MUC, push) whether it is supported,
// with the XEP and what its absence means for the user.
//
// Facts come from three places: the stream features the server sent while
// the account logged in (recorded by pkg/conn), a short diagnostic TLS
// probe of the same address (TLS version; the pre-authentication features
// of a domain the account does not live on) and service discovery.
// Evaluate is a pure function of those facts.
package compliance
