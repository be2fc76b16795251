package caps

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadInfo(t testing.TB, name string) *disco.Info {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var el stanza.Element
	if err := xml.Unmarshal(bytes.TrimSpace(raw), &el); err != nil {
		t.Fatal(err)
	}
	info, err := disco.ParseInfo("e", el)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Vectors: XEP-0115 §5.2 and §5.3, and the server of the test bed
// (Prosody 0.12 advertises this ver in its stream features).
func TestVer(t *testing.T) {
	tests := []struct {
		file, wantS, want string
	}{
		{"xep0115-simple.xml",
			"client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<",
			"QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"xep0115-complex.xml",
			"client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<os_version<10.5.1<software<Psi<software_version<0.11<",
			"q07IKJEyjvHSyhy//CH0CxmKi8w="},
		{"prosody-server.xml", "", "j/Y94sSrQ04HC31Dsn52+Z4ESGQ="},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info := loadInfo(t, tt.file)
			s, err := VerificationString(info)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantS != "" && s != tt.wantS {
				t.Errorf("S =\n %q\nwant\n %q", s, tt.wantS)
			}
			got, err := Ver(info, "sha-1")
			if err != nil || got != tt.want {
				t.Errorf("ver = %q, %v; want %q", got, err, tt.want)
			}
			if err := (Caps{Hash: "sha-1", Ver: tt.want}).Verify(info); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

// Vectors: XEP-0390 §4.5.1 and §4.5.2.
func TestHash2(t *testing.T) {
	tests := []struct {
		file, sha256, sha3 string
		inputLen           int
	}{
		{"xep0390-simple.xml", "kzBZbkqJ3ADrj7v08reD1qcWUwNGHaidNUgD7nHpiw8=", "79mdYAfU9rEdTOcWDO7UEAt6E56SUzk/g6TnqUeuD9Q=", 0x1d9},
		{"xep0390-complex.xml", "u79ZroNJbdSWhdSp311mddz44oHHPsEBntQ5b1jqBSY=", "XpUJzLAc93258sMECZ3FJpebkzuyNXDzRNwQog8eycg=", 0x543},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info := loadInfo(t, tt.file)
			in, err := HashInput(info)
			if err != nil {
				t.Fatal(err)
			}
			if len(in) != tt.inputLen {
				t.Errorf("hash input is %d octets, want %d", len(in), tt.inputLen)
			}
			for algo, want := range map[string]string{"sha-256": tt.sha256, "sha3-256": tt.sha3} {
				if got, err := Hash2(info, algo); err != nil || got != want {
					t.Errorf("%s = %q, %v; want %q", algo, got, err, want)
				}
			}
			set := Caps2{Hashes: []Hash{{Algo: "sha-256", Value: tt.sha256}, {Algo: "sha3-256", Value: tt.sha3}, {Algo: "blake2b-256", Value: "x"}}}
			if err := set.Verify(info); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestIllFormed(t *testing.T) {
	form := func(ft string, hidden bool) disco.Form {
		typ := ""
		if hidden {
			typ = "hidden"
		}
		return disco.Form{Type: "result", Fields: []disco.Field{{Var: "FORM_TYPE", Type: typ, Values: []string{ft}}, {Var: "a", Values: []string{"1"}}}}
	}
	base := func() *disco.Info {
		return &disco.Info{Identities: []disco.Identity{{Category: "client", Type: "pc"}}, Features: []string{"a", "b"}}
	}
	tests := []struct {
		name   string
		mutate func(*disco.Info)
		ill    bool
	}{
		{"fine", func(*disco.Info) {}, false},
		{"duplicate feature", func(i *disco.Info) { i.Features = append(i.Features, "a") }, true},
		{"duplicate identity", func(i *disco.Info) { i.Identities = append(i.Identities, i.Identities[0]) }, true},
		{"two forms same type", func(i *disco.Info) { i.Forms = []disco.Form{form("x", true), form("x", true)} }, true},
		{"form without hidden FORM_TYPE is ignored", func(i *disco.Info) { i.Forms = []disco.Form{form("x", false)} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := base()
			tt.mutate(info)
			_, err := Ver(info, "sha-1")
			if got := errors.Is(err, ErrIllFormed); got != tt.ill {
				t.Errorf("err = %v, ill-formed want %v", err, tt.ill)
			}
		})
	}
	// The ignored form does not change the ver.
	withForm := base()
	withForm.Forms = []disco.Form{form("x", false)}
	a, _ := Ver(base(), "sha-1")
	b, _ := Ver(withForm, "sha-1")
	if a != b {
		t.Errorf("non-hidden FORM_TYPE form changed ver: %s vs %s", a, b)
	}
}

func TestFromFeatures(t *testing.T) {
	raw, err := os.ReadFile("testdata/prosody-features.xml")
	if err != nil {
		t.Fatal(err)
	}
	c1, c2, err := FromFeatures(bytes.TrimSpace(raw))
	if err != nil {
		t.Fatal(err)
	}
	if c1 == nil || c2 != nil || c1.Hash != "sha-1" || c1.Node != "http://prosody.im" || c1.Ver != "j/Y94sSrQ04HC31Dsn52+Z4ESGQ=" {
		t.Fatalf("caps = %+v, %+v", c1, c2)
	}
	if err := c1.Verify(loadInfo(t, "prosody-server.xml")); err != nil {
		t.Error(err)
	}
}

func TestElementsGolden(t *testing.T) {
	info := loadInfo(t, "xep0390-simple.xml")
	v, _ := Ver(info, "sha-1")
	h, _ := Hash2(info, "sha-256")
	p := stanza.Presence{Payload: []any{
		Caps{Hash: "sha-1", Node: "https://example.org/app", Ver: v},
		Caps2{Hashes: []Hash{{Algo: "sha-256", Value: h}}},
	}}
	out, err := xml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "presence.golden.xml", out, *update)
	var back stanza.Presence
	if err := xml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	c1, c2 := Find(back.Ext)
	if c1 == nil || c1.Ver != v || c2 == nil || len(c2.Hashes) != 1 || c2.Hashes[0].Value != h {
		t.Errorf("round trip: %+v %+v", c1, c2)
	}
}

// lookupPeer answers disco#info with info (or a forged variant) and counts
// the queries.
func lookupPeer(t *testing.T, info *disco.Info) (*xmpptest.Session, *int) {
	s := xmpptest.New()
	calls := 0
	s.OnIQ = func(iq stanza.IQ) (*stanza.IQ, error) {
		calls++
		b, err := xml.Marshal(info.Query())
		if err != nil {
			t.Fatal(err)
		}
		var el stanza.Element
		_ = xml.Unmarshal(b, &el)
		return &stanza.IQ{Type: "result", Query: el}, nil
	}
	return s, &calls
}

func TestResolverCachesOnlyVerified(t *testing.T) {
	dir := t.TempDir()
	info := loadInfo(t, "xep0115-simple.xml")
	good := &Caps{Hash: "sha-1", Node: "http://code.google.com/p/exodus", Ver: "QgayPKawpkPSDYmwT/WM94uAlu0="}
	ctx := context.Background()

	s, calls := lookupPeer(t, info)
	r := &Resolver{S: s, Store: Store{Dir: dir}}
	res, err := r.Lookup(ctx, "juliet@example.org/balcony", good, nil)
	if err != nil || res.Status != Verified || *calls != 1 {
		t.Fatalf("first lookup: %+v, %v, %d calls", res, err, *calls)
	}
	// A new resolver (a later run) answers from the data dir, no IQ.
	s2, calls2 := lookupPeer(t, info)
	r2 := &Resolver{S: s2, Store: Store{Dir: dir}}
	res, err = r2.Lookup(ctx, "romeo@example.org/orchard", good, nil)
	if err != nil || res.Status != Cached || *calls2 != 0 || res.Info.JID != "romeo@example.org/orchard" || !res.Info.HasFeature("http://jabber.org/protocol/muc") {
		t.Fatalf("second lookup: %+v, %v, %d calls", res, err, *calls2)
	}

	// A forged ver: the entity's info does not hash to it.
	forged := &Caps{Hash: "sha-1", Node: "http://evil.example", Ver: "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	s3, calls3 := lookupPeer(t, info)
	r3 := &Resolver{S: s3, Store: Store{Dir: dir}}
	for i := 0; i < 2; i++ {
		res, err = r3.Lookup(ctx, "mallory@example.org/x", forged, nil)
		var me *MismatchError
		if err != nil || res.Status != Mismatch || !errors.As(res.Err, &me) {
			t.Fatalf("forged lookup %d: %+v, %v", i, res, err)
		}
	}
	if *calls3 != 2 {
		t.Errorf("mismatching result was cached: %d queries for 2 lookups", *calls3)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || !strings.HasPrefix(files[0].Name(), "sha-1-") {
		t.Errorf("cache dir holds %v, want exactly the verified entry", files)
	}
}

func TestStoreRejectsTamperedEntry(t *testing.T) {
	dir := t.TempDir()
	st := Store{Dir: dir}
	info := loadInfo(t, "xep0390-simple.xml")
	h, _ := Hash2(info, "sha-256")
	if err := st.Put("sha-256", h, info); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Get("sha-256", h); !ok {
		t.Fatal("stored entry not found")
	}
	if err := st.Put("sha-256", h, &disco.Info{Features: []string{"x"}}); err == nil {
		t.Error("Put accepted info that does not hash to the key")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	b, _ := os.ReadFile(files[0])
	_ = os.WriteFile(files[0], bytes.Replace(b, []byte("urn:xmpp:ping"), []byte("urn:xmpp:pong"), 1), 0o600)
	if _, ok := st.Get("sha-256", h); ok {
		t.Error("tampered entry accepted")
	}
}

func FuzzFromFeatures(f *testing.F) {
	raw, _ := os.ReadFile("testdata/prosody-features.xml")
	f.Add(bytes.TrimSpace(raw))
	f.Add([]byte(`<stream:features><c xmlns='urn:xmpp:caps'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>x</hash></c></stream:features>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c1, c2, err := FromFeatures(data)
		if err != nil {
			return
		}
		if c1 != nil {
			_ = c1.Verify(&disco.Info{})
		}
		if c2 != nil {
			_ = c2.Verify(&disco.Info{})
		}
	})
}

func FuzzVer(f *testing.F) {
	f.Add("client", "pc", "en", "name", "feat", "FORM_TYPE", "v")
	f.Fuzz(func(t *testing.T, cat, typ, lang, name, feat, fvar, val string) {
		info := &disco.Info{Identities: []disco.Identity{{Category: cat, Type: typ, Lang: lang, Name: name}},
			Features: []string{feat},
			Forms:    []disco.Form{{Fields: []disco.Field{{Var: "FORM_TYPE", Type: "hidden", Values: []string{"t"}}, {Var: fvar, Values: []string{val}}}}}}
		v, err := Ver(info, "sha-1")
		if err != nil {
			return
		}
		if err := (Caps{Hash: "sha-1", Ver: v}).Verify(info); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkVer(b *testing.B) {
	info := loadInfo(b, "xep0390-complex.xml")
	for b.Loop() {
		if _, err := Ver(info, "sha-1"); err != nil {
			b.Fatal(err)
		}
	}
}
