package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The typed constants must be the exact wire names: a typo would compile
// and silently never match what a server sends.
func TestConditionWireNames(t *testing.T) {
	for _, c := range []Condition{BadRequest, Conflict, FeatureNotImplemented, Forbidden, Gone,
		InternalServerError, ItemNotFound, JIDMalformed, NotAcceptable, NotAllowed, NotAuthorized,
		PolicyViolation, RecipientUnavailable, Redirect, RegistrationRequired, RemoteServerNotFound,
		RemoteServerTimeout, ResourceConstraint, ServiceUnavailable, SubscriptionRequired,
		UndefinedCondition, UnexpectedRequest} {
		t.Run(string(c), func(t *testing.T) {
			in := fmt.Sprintf(`<error type='cancel'><%s xmlns='%s'/></error>`, c, NSStanzas)
			var e Error
			if err := xml.Unmarshal([]byte(in), &e); err != nil {
				t.Fatal(err)
			}
			if e.Condition != c || e.Type != Cancel {
				t.Fatalf("got %q/%q, want %q/cancel", e.Condition, e.Type, c)
			}
			if !errors.Is(fmt.Errorf("wrapped: %w", &e), &Error{Condition: c}) {
				t.Fatal("errors.Is does not match the condition")
			}
		})
	}
}

func TestIQTypeWire(t *testing.T) {
	for _, typ := range []IQType{GetIQ, SetIQ, ResultIQ, ErrorIQ} {
		b, err := xml.Marshal(IQ{ID: "x", Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		var out IQ
		if err := xml.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Type != typ {
			t.Errorf("%s: round trip gave %q", typ, out.Type)
		}
	}
}

// The message and presence types must be the wire names of RFC 6121: each
// is read from a stanza written with the literal name and written back.
func TestMessageTypeWireNames(t *testing.T) {
	for _, tc := range []struct {
		wire string
		typ  MessageType
	}{{"chat", ChatMessage}, {"error", ErrorMessage}, {"groupchat", GroupChatMessage},
		{"headline", HeadlineMessage}, {"normal", NormalMessage}} {
		t.Run(tc.wire, func(t *testing.T) {
			var m Message
			in := `<message xmlns='jabber:client' type='` + tc.wire + `'/>`
			if err := xml.Unmarshal([]byte(in), &m); err != nil {
				t.Fatal(err)
			}
			if m.Type != tc.typ {
				t.Fatalf("read %q, want %q", m.Type, tc.typ)
			}
			b, err := xml.Marshal(Message{Type: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			if want := `type="` + tc.wire + `"`; !strings.Contains(string(b), want) {
				t.Fatalf("wrote %s, want %s", b, want)
			}
		})
	}
}

func TestPresenceTypeWireNames(t *testing.T) {
	for _, tc := range []struct {
		wire string
		typ  PresenceType
	}{{"error", ErrorPresence}, {"probe", ProbePresence}, {"subscribe", SubscribePresence},
		{"subscribed", SubscribedPresence}, {"unavailable", UnavailablePresence},
		{"unsubscribe", UnsubscribePresence}, {"unsubscribed", UnsubscribedPresence}} {
		t.Run(tc.wire, func(t *testing.T) {
			var p Presence
			in := `<presence xmlns='jabber:client' type='` + tc.wire + `'/>`
			if err := xml.Unmarshal([]byte(in), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.typ {
				t.Fatalf("read %q, want %q", p.Type, tc.typ)
			}
			b, err := xml.Marshal(Presence{Type: tc.typ})
			if err != nil {
				t.Fatal(err)
			}
			if want := `type="` + tc.wire + `"`; !strings.Contains(string(b), want) {
				t.Fatalf("wrote %s, want %s", b, want)
			}
		})
	}
	// Availability is the absence of the attribute, both ways.
	var p Presence
	if err := xml.Unmarshal([]byte(`<presence xmlns='jabber:client'><show>away</show></presence>`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != AvailablePresence {
		t.Fatalf("presence without type read as %q", p.Type)
	}
	b, err := xml.Marshal(Presence{Type: AvailablePresence})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "type=") {
		t.Fatalf("available presence written with a type: %s", b)
	}
}
