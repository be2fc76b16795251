package roster

import (
	"encoding/xml"
	"testing"

	"mellium.im/xmpp/jid"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// FuzzParse feeds roster results (remote input) to Parse: no panic, and
// every item it returns is valid and survives a marshal/parse round trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<query xmlns='jabber:iq:roster'/>`,
		`<query xmlns='jabber:iq:roster' ver='v1'><item jid='bob@example.org' name='Bob' subscription='both' ask='subscribe'><group>G</group></item></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='a@b/c'/><item jid='x@y' subscription='from'><group></group></item></query>`,
		`<query xmlns='jabber:iq:roster'><item jid='&#x1b;[31m@x' name='&#x1b;]0;t&#7;'/></query>`,
		`<query xmlns='urn:other'/>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var el stanza.Element
		if xml.Unmarshal([]byte(raw), &el) != nil {
			return
		}
		items, err := Parse(el)
		if err != nil {
			return
		}
		for _, it := range items {
			switch it.Subscription {
			case None, To, From, Both:
			default:
				t.Fatalf("subscription %q passed", it.Subscription)
			}
			if it.Ask != "" && it.Ask != AskSubscribe {
				t.Fatalf("ask %q passed", it.Ask)
			}
			if it.JID == "" {
				t.Fatal("empty JID passed")
			}
		}
		b, err := xml.Marshal(query{Items: toXML(items)})
		if err != nil {
			t.Fatal(err)
		}
		var el2 stanza.Element
		if err := xml.Unmarshal(b, &el2); err != nil {
			t.Fatal(err)
		}
		again, err := Parse(el2)
		if err != nil || len(again) != len(items) {
			t.Fatalf("round trip: %d items, then %d (%v)", len(items), len(again), err)
		}
	})
}

func toXML(items []Item) []itemXML {
	out := make([]itemXML, len(items))
	for i, it := range items {
		out[i] = itemXML{JID: it.JID, Name: it.Name, Subscription: string(it.Subscription), Ask: string(it.Ask), Groups: it.Groups}
	}
	return out
}

// FuzzParsePush: a push is accepted only from the account itself, whatever
// its content.
func FuzzParsePush(f *testing.F) {
	q := `<query xmlns='jabber:iq:roster'><item jid='bob@example.org' subscription='both'/></query>`
	f.Add("", q)
	f.Add("user@example.org", q)
	f.Add("mallory@evil.example", q)
	f.Add("user@example.org/x", `<query xmlns='jabber:iq:roster'><item jid='b@c'/><item jid='d@e'/></query>`)
	f.Fuzz(func(t *testing.T, from, raw string) {
		var el stanza.Element
		if xml.Unmarshal([]byte(raw), &el) != nil {
			return
		}
		it, err := ParsePush(&stanza.IQ{Type: "set", From: from, Query: el}, "user@example.org/test")
		if err != nil {
			return
		}
		if from != "" && !sameBare(from) {
			t.Fatalf("push from %q accepted", from)
		}
		if it.JID == "" {
			t.Fatal("empty JID accepted")
		}
	})
}

// sameBare: whatever was accepted must normalise to the account's bare JID.
func sameBare(from string) bool {
	j, err := jid.Parse(from)
	return err == nil && j.String() == "user@example.org"
}

// FuzzParseRequest: a subscription request (remote input) is accepted only
// as a subscribe presence from a valid JID that is not our account, and
// is reduced to a bare JID.
func FuzzParseRequest(f *testing.F) {
	f.Add("subscribe", "bob@example.org/phone", "hi")
	f.Add("subscribe", "user@example.org/x", "")
	f.Add("subscribed", "bob@example.org", "")
	f.Add("subscribe", "\x1b[31m@example.org", "\x1b]0;x\x07")
	f.Fuzz(func(t *testing.T, typ, from, status string) {
		r, ok := ParseRequest(&stanza.Presence{Type: stanza.PresenceType(typ), From: from, Status: status}, "user@example.org/test")
		if !ok {
			return
		}
		if typ != string(stanza.SubscribePresence) {
			t.Fatalf("type %q accepted", typ)
		}
		j, err := jid.Parse(r.JID)
		if err != nil || j.Resourcepart() != "" || j.String() != r.JID {
			t.Fatalf("JID %q (%v) is not a normalised bare JID", r.JID, err)
		}
		if sameBare(r.JID) {
			t.Fatal("a request from our own account accepted")
		}
	})
}
