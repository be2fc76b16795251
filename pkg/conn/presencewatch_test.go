package conn

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	header   = `<?xml version='1.0'?><stream:stream version='1.0' from='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='a'>`
	capsBob  = `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppctl.example' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>`
	watchRun = `<presence from='bob@x/r' xml:lang='en'><show>away</show><priority>5</priority>` + capsBob +
		`</presence><message from='eve@x/e'><forwarded xmlns='urn:xmpp:forward:0'><presence from='carol@x/c'>` + capsBob +
		`</presence></forwarded></message><presence from='dave@x/d'>` + capsBob + `</presence>` +
		`<presence from='dave@x/d' type='unavailable'/><presence from='bob@x/r' type='subscribe'/>`
)

func watchFeed(chunks ...string) *presenceWatch {
	w := newPresenceWatch()
	for _, c := range chunks {
		w.feed([]byte(c))
	}
	w.stop()
	return w
}

func TestPresenceWatch(t *testing.T) {
	check := func(t *testing.T, w *presenceWatch) {
		t.Helper()
		ext := w.get("bob@x/r")
		if len(ext) != 1 || !ext[0].Is("http://jabber.org/protocol/caps", "c") || ext[0].Attr("ver") != "QgayPKawpkPSDYmwT/WM94uAlu0=" {
			t.Fatalf("bob's presence children: %+v", ext)
		}
		if got := w.get("carol@x/c"); got != nil {
			t.Errorf("a forwarded presence was taken as carol's: %+v", got)
		}
		if got := w.get("dave@x/d"); got != nil {
			t.Errorf("dave went unavailable but is still known: %+v", got)
		}
	}
	// Every split of the stream into two reads gives the same result.
	for i := 0; i <= len(watchRun); i++ {
		check(t, watchFeed(header, watchRun[:i], watchRun[i:]))
	}
	// A stream restart (STARTTLS) starts over with a new decoder.
	check(t, watchFeed(header, `<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>`,
		`<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`, header, watchRun))
	// A server may leave out the XML declaration.
	check(t, watchFeed(strings.TrimPrefix(header, "<?xml version='1.0'?>"), watchRun))
	// Garbage ends the watch of its stream only.
	check(t, watchFeed(header, `<presence from='bob@x/r'><c <<<`, header, watchRun))
	if got := watchFeed(header, `<presence from='bob@x/r'><c <<<`, watchRun).get("bob@x/r"); got != nil {
		t.Errorf("presence after garbage in the same stream recorded: %+v", got)
	}
	// Nothing before the first stream header is decoded.
	if got := watchFeed(watchRun).get("bob@x/r"); got != nil {
		t.Errorf("presence without a stream recorded: %+v", got)
	}
}

func TestPresenceWatchBound(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range maxWatched + 10 {
		b.WriteString(`<presence from='u@x/r` + strconv.Itoa(i) + `'/>`)
	}
	w := watchFeed(b.String())
	if n := len(w.ext); n != maxWatched {
		t.Fatalf("%d presences remembered, want the bound %d", n, maxWatched)
	}
}

func FuzzPresenceWatch(f *testing.F) {
	f.Add(header + watchRun)
	f.Add(header + `<presence from='a@b/c'><c xmlns='urn:xmpp:caps'><hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>x</hash></c></presence>`)
	f.Fuzz(func(t *testing.T, s string) {
		// Any input in any split ends without a hang or a panic.
		h := len(s) / 2
		w := watchFeed(header, s[:h], s[h:])
		_ = w.get("a@b/c")
	})
}

// TestPresenceWatchUnavailable: a room's unavailable presence keeps its
// status codes for UnavailableExt until the occupant is available again.
func TestPresenceWatchUnavailable(t *testing.T) {
	kicked := `<presence from='r@muc/me' type='unavailable'><x xmlns='http://jabber.org/protocol/muc#user'>` +
		`<item affiliation='none' role='none'/><status code='307'/><status code='110'/></x></presence>`
	w := watchFeed(header, kicked)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ext, err := w.unavailable(ctx, "r@muc/me")
	if err != nil || len(ext) != 1 || !ext[0].Is("http://jabber.org/protocol/muc#user", "x") || !strings.Contains(string(ext[0].Inner), "307") {
		t.Fatalf("unavailable ext %+v, %v", ext, err)
	}
	w = watchFeed(header, kicked, `<presence from='r@muc/me'/>`)
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := w.unavailable(short, "r@muc/me"); err == nil {
		t.Error("an occupant available again still has its old unavailable presence")
	}
}
