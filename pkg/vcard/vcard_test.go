package vcard

import (
	"context"
	"encoding/xml"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/pep/peptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func field(name string) Field { f, _ := FieldByName(name); return f }

// A card as another client might publish it: parameters, an unknown
// property, several emails.
const foreign = `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0">` +
	`<fn><text>Juliet Capulet</text></fn>` +
	`<email><parameters><type><text>work</text></type></parameters><text>j@work.example</text></email>` +
	`<gender><sex><text>F</text></sex></gender>` +
	`<email><text>j@home.example</text></email>` +
	`<tel><uri>tel:+1-555-0100</uri></tel></vcard>`

func parse(t *testing.T, s string) *Card {
	t.Helper()
	var el stanza.Element
	if err := xml.Unmarshal([]byte(s), &el); err != nil {
		t.Fatal(err)
	}
	c, err := ParseCard(el)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCardEditKeepsTheRest(t *testing.T) {
	c := parse(t, foreign)
	p := c.Profile()
	if p.FN != "Juliet Capulet" || !slices.Equal(p.Emails, []string{"j@work.example", "j@home.example"}) ||
		!slices.Equal(p.Tels, []string{"+1-555-0100"}) {
		t.Fatalf("profile %+v", p)
	}
	c.Set(field("fn"), "Juliet <&> C")
	c.Set(field("note"), "hi")
	c.Set(field("tel"))                       // removed
	c.Set(field("email"), "a@x", "  ", "b@y") // blank values skipped
	got, err := xml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "edited.golden.xml", got, *update)
	again := parse(t, string(got))
	p = again.Profile()
	if p.FN != "Juliet <&> C" || p.Note != "hi" || len(p.Tels) != 0 || !slices.Equal(p.Emails, []string{"a@x", "b@y"}) {
		t.Fatalf("after round trip %+v", p)
	}
	if !strings.Contains(string(got), "<gender") {
		t.Fatal("unknown property lost")
	}
}

func TestTelURI(t *testing.T) {
	for in, want := range map[string]string{"+44 20 7946 0000": "tel:+44-20-7946-0000", "tel:+1": "tel:+1", "TEL:5": "TEL:5"} {
		if got := TelURI(in); got != want {
			t.Errorf("TelURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTempPhotoKeepsFields(t *testing.T) {
	s, srv := peptest.NewSession()
	srv.VCardTemp = []byte(`<FN>Old Name</FN><PHOTO><TYPE>image/gif</TYPE><BINVAL>AAAA</BINVAL></PHOTO><NICKNAME>o</NICKNAME>`)
	ctx := context.Background()
	tmp, err := GetTemp(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	tmp.SetPhoto("image/png", []byte("\x89PNG data"))
	if err := SetTemp(ctx, s, tmp); err != nil {
		t.Fatal(err)
	}
	back, _ := GetTemp(ctx, s)
	typ, data, ok := back.Photo()
	if !ok || typ != "image/png" || string(data) != "\x89PNG data" {
		t.Fatalf("photo %q %q %v", typ, data, ok)
	}
	stored := string(srv.VCardTemp)
	if !strings.Contains(stored, "Old Name") || !strings.Contains(stored, "NICKNAME") || strings.Count(stored, "<PHOTO") != 1 {
		t.Fatalf("stored vCard %s", stored)
	}
	back.SetPhoto("", nil)
	if _, _, ok := back.Photo(); ok {
		t.Fatal("photo not removed")
	}
}

func TestVisibility(t *testing.T) {
	for _, v := range Visibilities {
		an, p := v.Models()
		if Classify(an, p) != v {
			t.Errorf("%s does not round-trip", v)
		}
	}
	if Classify(pep.Whitelist, pep.Presence) != "" {
		t.Error("whitelist classified")
	}
	if _, err := ParseVisibility("friends"); err == nil {
		t.Error("accepted friends")
	}
	s, srv := peptest.NewSession()
	ctx := context.Background()
	if v, _, err := GetVisibility(ctx, s); v != Contacts || err != nil {
		t.Fatalf("fresh account: %q %v", v, err)
	}
	if err := SetVisibility(ctx, s, PublicAvatarNick); err != nil {
		t.Fatal(err)
	}
	v, nodes, err := GetVisibility(ctx, s)
	if v != PublicAvatarNick || err != nil || len(nodes) != 4 || !nodes[0].Exists {
		t.Fatalf("after set: %q %+v %v", v, nodes, err)
	}
	srv.Nodes[AvatarNickNodes[2]].Access = "presence"
	if v, _, _ := GetVisibility(ctx, s); v != "" {
		t.Fatalf("disagreeing nodes classified as %q", v)
	}
}

func FuzzParseCard(f *testing.F) {
	f.Add([]byte(foreign))
	f.Add([]byte(`<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0"><fn/><email><parameters/></email></vcard>`))
	f.Add([]byte(`<vCard xmlns="vcard-temp"><PHOTO><BINVAL>@@</BINVAL></PHOTO></vCard>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var el stanza.Element
		if xml.Unmarshal(data, &el) != nil {
			return
		}
		if c, err := ParseCard(el); err == nil {
			_ = c.Profile()
			c.Set(field("note"), "x")
			if _, err := xml.Marshal(c); err != nil {
				t.Fatalf("re-marshal: %v", err)
			}
		}
		var tmp Temp
		if el.Decode(&tmp) == nil {
			_, _, _ = tmp.Photo()
		}
	})
}
