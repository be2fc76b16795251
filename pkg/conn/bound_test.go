package conn

import (
	"encoding/xml"
	"strings"
	"sync"
	"testing"
)

// TestOversizeStanzaDropped (issue 14 defect 12): a message or presence
// over MaxStanza is dropped with a report, before anything copies it; the
// session goes on.
func TestOversizeStanzaDropped(t *testing.T) {
	const bound = 64 << 10
	big := strings.Repeat("x", bound+1)
	for name, raw := range map[string]string{
		"message body": `<message from='stranger@evil.example/x' id='big'><body>` + big + `</body></message>`,
		"extension":    `<message from='stranger@evil.example/x' id='big'><data xmlns='urn:example'>` + big + `</data></message>`,
		"presence":     `<presence from='stranger@evil.example/x' id='big'><status>` + big + `</status></presence>`,
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var reports []string
			s, c := dialScripted(t, func(o *Options) {
				o.maxStanza = bound
				o.OnOversize = func(from string, n int) {
					mu.Lock()
					reports = append(reports, from)
					mu.Unlock()
					if n <= bound {
						t.Errorf("reported size %d", n)
					}
				}
			})
			sub := s.Subscribe()
			defer sub.Close()
			if ok, err := survives(t, s, c, raw); !ok {
				t.Fatalf("the session ended: %v", err)
			}
			for {
				st, ok := sub.Poll()
				if !ok {
					break
				}
				if b, _ := xml.Marshal(st); len(b) > bound {
					t.Fatalf("a %d-byte stanza was delivered", len(b))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reports) != 1 || reports[0] != "stranger@evil.example/x" {
				t.Errorf("reports %q, want one from the stranger", reports)
			}
		})
	}
}
