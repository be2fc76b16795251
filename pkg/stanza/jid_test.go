package stanza

import "testing"

func TestBareJID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bob@Example.ORG/Phone", "bob@example.org"},
		{"bob@example.org", "bob@example.org"},
		{"example.org/r", "example.org"},
		{"example.org.", "example.org"},                     // trailing dot (RFC 7622 §3.2)
		{"bob@xn--bcher-kva.example", "bob@bücher.example"}, // A-label to U-label
		{"ÉLODIE@example.org", "élodie@example.org"},
		{"ｂｏｂ@example.org", "bob@example.org"}, // width mapping (PRECIS), not done by ToLower
		{"Σ@example.org", "σ@example.org"},
		{"", ""},
		{"bad@@jid/Res", "bad@@jid"}, // not a JID: lower-cased up to the slash
	}
	for _, tt := range tests {
		if got := BareJID(tt.in); got != tt.want {
			t.Errorf("BareJID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if !SameBare("Bob@Example.org/a", "bob@example.org/B") || SameBare("bob@example.org", "bobby@example.org") {
		t.Error("SameBare")
	}
	if got := FullJID("Bob@Example.org/Phone"); got != "bob@example.org/Phone" {
		t.Errorf("FullJID kept %q (the resource is case-sensitive, the rest is not)", got)
	}
}

// FuzzBareJID: BareJID sees remote input (every from and to). It never
// panics, and its ASCII shortcut gives what jid.Parse gives. (It is not
// idempotent for every input: jid.Parse strips one trailing dot of "0..".)
func FuzzBareJID(f *testing.F) {
	for _, s := range []string{"Bob@Example.ORG/Phone", "a/b@c", "example.org.", "[::A]", "xn--bcher-kva.example",
		"a@XN--bcher-kva.example", "@example.org", "a@b@c", "a b@c", "ÉLODIE@example.org", "-a-.example", "a@_x.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := BareJID(s)
		if want := parseBare(s); got != want {
			t.Fatalf("BareJID(%q) = %q, jid.Parse gives %q", s, got, want)
		}
	})
}
