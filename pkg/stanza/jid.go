package stanza

import (
	"strings"

	"mellium.im/xmpp/jid"
)

// BareJID returns the bare JID of s as RFC 7622 compares JIDs, through
// mellium.im/xmpp/jid: the localpart case-mapped by PRECIS, the domainpart
// as lower-case U-labels without a trailing dot. It is the one bare-JID
// normalisation of this program (the store's keys use it too). A string
// that is not a valid JID gives its part before the first slash,
// lower-cased, so that it still matches itself in another case.
func BareJID(s string) string {
	b, _, _ := strings.Cut(s, "/")
	if plainASCII(b) {
		// What jid.Parse gives for these, ten times faster: the store
		// keys every message it files with this.
		return strings.ToLower(b)
	}
	return parseBare(s)
}

func parseBare(s string) string {
	if j, err := jid.Parse(s); err == nil {
		return j.Bare().String()
	}
	b, _, _ := strings.Cut(s, "/")
	return strings.ToLower(b)
}

// plainASCII reports whether the RFC 7622 normalisation of the bare JID b
// is its ASCII lower-casing: ASCII without A-labels ("xn--"), a trailing
// dot or an IP literal ("[", kept as is). An invalid one falls back to
// the lower-casing too.
func plainASCII(b string) bool {
	for i := 0; i < len(b); i++ {
		if c := b[i]; c >= 0x80 || c == '[' {
			return false
		}
	}
	return !strings.HasSuffix(b, ".") && !strings.Contains(strings.ToLower(b), "xn--")
}

// SameBare reports whether a and b have the same bare JID (any resources).
func SameBare(a, b string) bool { return BareJID(a) == BareJID(b) }

// FullJID returns s normalised as RFC 7622 compares JIDs, resource
// included (it is case-sensitive); a string that is not a valid JID is
// returned unchanged.
func FullJID(s string) string {
	if j, err := jid.Parse(s); err == nil {
		return j.String()
	}
	return s
}
