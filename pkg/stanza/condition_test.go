package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
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
