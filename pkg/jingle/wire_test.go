package jingle

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/xmppctl/xmppctl/internal/golden"
	"github.com/xmppctl/xmppctl/pkg/hashes"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMarshalGolden(t *testing.T) {
	size := int64(6144)
	desc := "a <test> & more"
	initiate := Jingle{Action: ActSessionInitiate, Initiator: "romeo@example.org/a", SID: "851ba2",
		Contents: []Content{{Creator: "initiator", Name: "a-file-offer", Senders: "initiator", Payload: []any{
			Description{XMLName: xmlName(NSFT, "description"), File: &File{Name: "test.txt", Size: &size,
				MediaType: "text/plain", Desc: &desc, Date: "2015-07-26T21:46:00Z", HashUsed: []hashes.Used{{Algo: "sha-256"}}}},
			S5BTransport{SID: "vj3hs98y", Mode: "tcp", DstAddr: "972b7bf47291ca609517f67f86b5081086052dad",
				Candidates: []Candidate{{CID: "hft54dqy", Host: "192.0.2.1", JID: "romeo@example.org/a", Port: 5086, Priority: 8257636, Type: TypeDirect}}},
		}}}}
	terminate := Jingle{Action: ActSessionTerminate, SID: "851ba2", Reason: &Reason{Condition: ReasonMediaError, Text: "hash mismatch",
		App: &stanza.Element{XMLName: xml.Name{Space: NSFTError, Local: "file-too-large"}}}}
	checksum := Jingle{Action: ActSessionInfo, SID: "851ba2", Payload: []any{Checksum{XMLName: xmlName(NSFT, "checksum"),
		Creator: "initiator", Name: "a-file-offer", File: File{Hashes: []hashes.Hash{{Algo: "sha-256", Value: "AQID"}}}}}}
	replace := Jingle{Action: ActTransportReplace, SID: "851ba2", Contents: []Content{{Creator: "initiator", Name: "a-file-offer",
		Payload: []any{IBBTransport{BlockSize: 4096, SID: "ch3d9s71"}}}}}
	for name, j := range map[string]Jingle{"initiate.xml": initiate, "terminate.xml": terminate,
		"checksum.xml": checksum, "replace.xml": replace} {
		t.Run(name, func(t *testing.T) {
			b, err := xml.Marshal(j)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, name, b, *update)
			// Round trip: what we send parses back to the same meaning.
			var el stanza.Element
			if err := xml.Unmarshal(b, &el); err != nil {
				t.Fatal(err)
			}
			back, err := ParseJingle(el)
			if err != nil {
				t.Fatal(err)
			}
			if back.Action != j.Action || back.SID != j.SID || len(back.Contents) != len(j.Contents) {
				t.Errorf("round trip: %+v", back)
			}
		})
	}
}

// TestParseForeignOffer reads offers as other clients write them: the
// XEP-0234 example (:5, sha-1 hash), a :4 offer with hashes:1, and
// libervia 0.9's form.
func TestParseForeignOffer(t *testing.T) {
	tests := []struct {
		file      string
		wantName  string
		wantSize  int64
		wantKind  Method
		wantHash  bool
		wantAlgos []string
	}{
		{"offer-xep0234.xml", "test.txt", 6144, "s5b", true, nil},
		{"offer-ft4.xml", "old.bin", 10, "ibb", true, nil},
		{"offer-libervia.xml", "test.bin", 300000, "s5b", false, []string{"sha-256"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var el stanza.Element
			if err := xml.Unmarshal(raw, &el); err != nil {
				t.Fatal(err)
			}
			j, err := ParseJingle(el)
			if err != nil {
				t.Fatal(err)
			}
			o, reason := parseOffer(j)
			if reason != nil {
				t.Fatalf("offer refused: %s", reason)
			}
			if o.Name != tt.wantName || o.Size != tt.wantSize || o.Transport != tt.wantKind {
				t.Errorf("offer %+v", o)
			}
			if (len(o.Hashes) > 0) != tt.wantHash {
				t.Errorf("hashes %v", o.Hashes)
			}
			if len(tt.wantAlgos) > 0 && (len(o.Algos) == 0 || o.Algos[0] != tt.wantAlgos[0]) {
				t.Errorf("algos %v, want %v", o.Algos, tt.wantAlgos)
			}
		})
	}
}

func TestParseOfferRefusals(t *testing.T) {
	tests := []struct {
		name, xml, want string
	}{
		{"file request", `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='c' senders='responder'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>x</name></file></description><transport xmlns='urn:xmpp:jingle:transports:ibb:1' sid='t' block-size='4096'/></content></jingle>`, ReasonUnsupportedApps},
		{"unknown transport", `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='c' senders='initiator'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>x</name></file></description><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle>`, ReasonUnsupportedTransprt},
		{"rtp session", `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='voice'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></content></jingle>`, ReasonUnsupportedApps},
		{"negative size", `<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'><content creator='initiator' name='c' senders='initiator'><description xmlns='urn:xmpp:jingle:apps:file-transfer:5'><file><name>x</name><size>-5</size></file></description><transport xmlns='urn:xmpp:jingle:transports:ibb:1' sid='t' block-size='4096'/></content></jingle>`, ReasonFailedApplication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var el stanza.Element
			if err := xml.Unmarshal([]byte(tt.xml), &el); err != nil {
				t.Fatal(err)
			}
			j, err := ParseJingle(el)
			if err != nil {
				t.Fatal(err)
			}
			_, reason := parseOffer(j)
			if reason == nil || reason.Condition != tt.want {
				t.Errorf("reason %v, want %s", reason, tt.want)
			}
		})
	}
}

func FuzzParseJingle(f *testing.F) {
	for _, name := range []string{"initiate.xml", "terminate.xml", "checksum.xml", "replace.xml", "offer-xep0234.xml", "offer-ft4.xml", "offer-libervia.xml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var el stanza.Element
		if xml.Unmarshal(b, &el) != nil {
			return
		}
		j, err := ParseJingle(el)
		if err != nil {
			return
		}
		o, _ := parseOffer(j)
		if o != nil && o.Size < -1 {
			t.Fatalf("negative size accepted: %d", o.Size)
		}
		for _, c := range j.Contents {
			_, _ = transportOf(c)
			_, _ = descriptionOf(c)
		}
		s := &Session{events: make(chan *Jingle, 1), ended: make(chan struct{}), notify: make(chan struct{}, 1)}
		s.info(j)
		if _, err := xml.Marshal(j); err != nil {
			t.Fatalf("parsed jingle does not marshal: %v", err)
		}
	})
}
