package disco

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func element(t testing.TB, raw []byte) stanza.Element {
	t.Helper()
	var el stanza.Element
	if err := xml.Unmarshal(raw, &el); err != nil {
		t.Fatal(err)
	}
	return el
}

func TestParseInfoRoundTrip(t *testing.T) {
	raw, err := os.ReadFile("testdata/upload-info.xml")
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseInfo("upload.example.org", element(t, bytes.TrimSpace(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasIdentity("store", "file") || !info.HasFeature("urn:xmpp:http:upload:0") {
		t.Errorf("identities/features lost: %+v", info)
	}
	if info.Identities[1].Lang != "de" {
		t.Errorf("xml:lang lost: %+v", info.Identities[1])
	}
	f, ok := info.Form("urn:xmpp:http:upload:0")
	if !ok || f.Value("max-file-size") != "268435456" || f.Type != "result" {
		t.Errorf("form = %+v, %v", f, ok)
	}
	out, err := xml.Marshal(info.Query())
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "upload-info.golden.xml", out, *update)
	again, err := ParseInfo("upload.example.org", element(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, info) {
		t.Errorf("round trip changed the info:\n got %+v\nwant %+v", again, info)
	}
}

func TestGetInfoRemoteError(t *testing.T) {
	s := xmpptest.New()
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		e := &stanza.Error{Type: "cancel", Condition: "item-not-found"}
		return &stanza.IQ{Type: "error", Error: e}, e
	}
	_, err := GetInfo(context.Background(), s, "nowhere.example.org", "")
	if !errors.Is(err, &stanza.Error{Condition: "item-not-found"}) {
		t.Fatalf("err = %v, want item-not-found", err)
	}
}

// itemsPeer answers disco#items with pages of two, RSM-style, whether or
// not the request asked for paging.
func itemsPeer(t *testing.T, all []Item, withSet bool) (*xmpptest.Session, *int) {
	s := xmpptest.New()
	calls := 0
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		calls++
		q := iq.Payload.(ItemsQuery)
		start := 0
		if q.RSM != nil && q.RSM.After != "" {
			for i, it := range all {
				if it.JID == q.RSM.After {
					start = i + 1
				}
			}
		}
		end := min(start+2, len(all))
		res := ItemsQuery{Node: q.Node, Items: all[start:end]}
		if withSet && start < end {
			n := len(all)
			res.RSM = &RSM{First: all[start].JID, Last: all[end-1].JID, Count: &n}
		}
		b, err := xml.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return &stanza.IQ{Type: "result", Query: element(t, b)}, nil
	}
	return s, &calls
}

func TestGetItemsFollowsRSMPages(t *testing.T) {
	all := []Item{{JID: "a.example.org"}, {JID: "b.example.org", Name: "B"}, {JID: "c.example.org", Node: "n"},
		{JID: "d.example.org"}, {JID: "e.example.org"}}
	tests := []struct {
		name      string
		withSet   bool
		want      []Item
		wantCalls int
	}{
		{"paged", true, all, 3},
		{"unpaged entity answers once", false, all[:2], 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, calls := itemsPeer(t, all, tt.withSet)
			got, err := GetItems(context.Background(), s, "example.org", "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) || *calls != tt.wantCalls {
				t.Errorf("got %v in %d calls, want %v in %d", got, *calls, tt.want, tt.wantCalls)
			}
		})
	}
}

func TestItemIterStopsWhenLastRepeats(t *testing.T) {
	s := xmpptest.New()
	calls := 0
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		calls++
		res := ItemsQuery{Items: []Item{{JID: "x.example.org"}}, RSM: &RSM{Last: "same"}}
		b, _ := xml.Marshal(res)
		return &stanza.IQ{Type: "result", Query: element(t, b)}, nil
	}
	got, err := GetItems(context.Background(), s, "example.org", "")
	if err != nil || len(got) != 2 || calls != 2 {
		t.Errorf("got %v, %v after %d calls; want 2 items in 2 calls", got, err, calls)
	}
}

func TestFeatureName(t *testing.T) {
	tests := map[string]string{
		"urn:xmpp:mam:2":                  "XEP-0313 Message Archive Management",
		"urn:xmpp:avatar:metadata+notify": "XEP-0084 User Avatar (notify)",
		"urn:xmpp:bookmarks:1+notify":     "XEP-0402 PEP Native Bookmarks (notify)",
		"urn:example:unknown":             "",
	}
	for ns, want := range tests {
		if got := FeatureName(ns); got != want {
			t.Errorf("FeatureName(%q) = %q, want %q", ns, got, want)
		}
	}
}

func FuzzParseInfo(f *testing.F) {
	raw, _ := os.ReadFile("testdata/upload-info.xml")
	f.Add(bytes.TrimSpace(raw))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info' node='n'><identity category='a' type='b'/></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#info'><x xmlns='jabber:x:data'><field><value/></field></x></query>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var el stanza.Element
		if xml.Unmarshal(data, &el) != nil {
			return
		}
		info, err := ParseInfo("e", el)
		if err != nil {
			return
		}
		out, err := xml.Marshal(info.Query())
		if err != nil {
			t.Fatalf("marshal parsed info: %v", err)
		}
		var el2 stanza.Element
		if err := xml.Unmarshal(out, &el2); err != nil {
			t.Fatalf("re-read %s: %v", out, err)
		}
		again, err := ParseInfo("e", el2)
		if err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		out2, _ := xml.Marshal(again.Query())
		if !bytes.Equal(out, out2) {
			t.Fatalf("not round-trip stable:\n%s\n%s", out, out2)
		}
	})
}

func FuzzParseItems(f *testing.F) {
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#items'><item jid='a' node='n' name='x'/><set xmlns='http://jabber.org/protocol/rsm'><first>a</first><last>a</last><count>9</count></set></query>`))
	f.Add([]byte(`<query xmlns='http://jabber.org/protocol/disco#items'/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var el stanza.Element
		if xml.Unmarshal(data, &el) != nil {
			return
		}
		q, err := parseItemsQuery(el)
		if err != nil {
			return
		}
		out, err := xml.Marshal(q)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var el2 stanza.Element
		if err := xml.Unmarshal(out, &el2); err != nil {
			t.Fatalf("re-read %s: %v", out, err)
		}
		q2, err := parseItemsQuery(el2)
		if err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		if out2, _ := xml.Marshal(q2); !bytes.Equal(out, out2) {
			t.Fatalf("not round-trip stable:\n%s\n%s", out, out2)
		}
	})
}
