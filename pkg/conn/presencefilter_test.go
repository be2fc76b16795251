package conn

import (
	"runtime"
	"strings"
	"testing"
)

func filterAll(chunks ...string) string {
	var f presenceFilter
	var out []byte
	for _, c := range chunks {
		var ok bool
		if out, ok = f.filter(out, []byte(c)); !ok {
			return string(out) + "<gave up>"
		}
	}
	return string(out)
}

// TestPresenceFilter: the watch's decoder gets the stream headers and the
// top-level presences, nothing of other stanzas, in any split of the
// stream.
func TestPresenceFilter(t *testing.T) {
	presence := `<presence from='bob@x/r' xml:lang='en'><show>away</show>` + capsBob + `<status><![CDATA[a > b ]] ]]]></status></presence>`
	stream := header + `<message from='eve@x/e' to='me@x'><body>` + strings.Repeat("y", 3000) +
		`<![CDATA[</body></message><presence from='victim@x/v'>` + capsBob + `</presence>]]></body></message>` +
		"\n" + presence + `<iq type='get' id='1' attr='>'><query xmlns='q'><presence from='nested@x/n'/></query></iq>` +
		`<presence from='dave@x/d' type='unavailable'/>` + `</stream:stream>`
	want := header + presence + `<presence from='dave@x/d' type='unavailable'/>` + `</stream:stream>`
	if got := filterAll(stream); got != want {
		t.Fatalf("filtered:\n%s\nwant:\n%s", got, want)
	}
	for i := 0; i <= len(stream); i++ {
		if got := filterAll(stream[:i], stream[i:]); got != want {
			t.Fatalf("split at %d: %.300q", i, got)
		}
	}
	// The watch sees bob and dave as before, never the victim.
	w := watchFeed(stream)
	if len(w.get("bob@x/r")) != 1 || w.get("victim@x/v") != nil || w.get("nested@x/n") != nil {
		t.Errorf("watched: bob %v, victim %v, nested %v", w.get("bob@x/r"), w.get("victim@x/v"), w.get("nested@x/n"))
	}
	if _, known := w.gone["dave@x/d"]; !known {
		t.Error("dave's unavailable presence not seen")
	}
}

// TestPresenceFilterGivesUp: a presence tag too large to keep ends the
// watch of its stream; the next stream is watched again.
func TestPresenceFilterGivesUp(t *testing.T) {
	huge := `<presence from='a@x/r' junk='` + strings.Repeat("z", maxFilterTag) + `'/>`
	if got := filterAll(header, huge); !strings.HasSuffix(got, "<gave up>") {
		t.Errorf("a %d-byte tag was passed on", len(huge))
	}
	w := watchFeed(header, huge, header, watchRun)
	if len(w.get("bob@x/r")) != 1 {
		t.Error("the stream after the one given up on is not watched")
	}
}

// TestPresenceWatchLargeMessage (issue 14 defect 12): a large message
// costs the presence watch next to nothing: its decoder never sees it.
func TestPresenceWatchLargeMessage(t *testing.T) {
	const size = 4 << 20
	body := []byte(strings.Repeat("m", 4096))
	open, end := []byte(`<message from='eve@x/e'><body>`), []byte(`</body></message>`+watchRun)
	w := newPresenceWatch()
	w.feed([]byte(header))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w.feed(open)
	for range size / len(body) {
		w.feed(body)
	}
	w.feed(end)
	w.stop()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > size/8 {
		t.Errorf("a %d-byte message cost the watch %d bytes of allocations", size, n)
	}
	if len(w.get("bob@x/r")) != 1 {
		t.Error("the presence after the message was not seen")
	}
}

func FuzzPresenceFilter(f *testing.F) {
	f.Add(header+watchRun, 10)
	f.Add(header+`<message><body><![CDATA[<presence from='a@b/c'/>]]></body></message>`, 40)
	f.Fuzz(func(t *testing.T, s string, at int) {
		// Any input: no panic, and the output does not depend on where the
		// stream was split.
		if at < 0 || at > len(s) {
			at = len(s) / 2
		}
		if a, b := filterAll(s), filterAll(s[:at], s[at:]); a != b {
			t.Fatalf("whole %q, split at %d %q", a, at, b)
		}
	})
}

// BenchmarkPresenceWatchMessage reports what a message with a 1 MiB body
// allocates in the presence watch (B/op against the body's 1 MiB).
func BenchmarkPresenceWatchMessage(b *testing.B) {
	chunk := []byte(strings.Repeat("m", 4096))
	open, end := []byte(`<message from='eve@x/e'><body>`), []byte(`</body></message>`)
	w := newPresenceWatch()
	w.feed([]byte(header))
	defer w.stop()
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	for b.Loop() {
		w.feed(open)
		for range (1 << 20) / len(chunk) {
			w.feed(chunk)
		}
		w.feed(end)
	}
}
