package conn

import (
	"encoding/xml"
	"strings"
	"sync"
	"testing"

	"github.com/xmppctl/xmppctl/pkg/stanza"
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
			paths(t, func(t *testing.T, opts ...func(*Options)) {
				var mu sync.Mutex
				var reports []string
				s, c := dialScripted(t, append(opts, func(o *Options) {
					o.MaxStanza = bound
					o.OnOversize = func(from string, n int) {
						mu.Lock()
						reports = append(reports, from)
						mu.Unlock()
						if n <= bound {
							t.Errorf("reported size %d", n)
						}
					}
				})...)
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
		})
	}
}

// TestLargeStanzaReleased: a stanza over releaseOver (after which the
// receive loop returns the decoder's garbage to the system) is delivered
// whole when under the bound, dropped with a report when over it, and the
// session goes on either way.
func TestLargeStanzaReleased(t *testing.T) {
	body := strings.Repeat("y", releaseOver) + "-end"
	for _, tc := range []struct {
		name  string
		bound int
	}{{"delivered", 2 * releaseOver}, {"dropped", releaseOver}} {
		t.Run(tc.name, func(t *testing.T) {
			paths(t, func(t *testing.T, opts ...func(*Options)) {
				var mu sync.Mutex
				reports := 0
				s, c := dialScripted(t, append(opts, func(o *Options) {
					o.MaxStanza = tc.bound
					o.OnOversize = func(string, int) { mu.Lock(); reports++; mu.Unlock() }
				})...)
				sub := s.Subscribe()
				defer sub.Close()
				raw := `<message from='peer@example.org/x' id='big'><body>` + body + `</body></message>`
				if ok, err := survives(t, s, c, raw); !ok {
					t.Fatalf("the session ended: %v", err)
				}
				delivered := false
				for {
					st, ok := sub.Poll()
					if !ok {
						break
					}
					if m, ok := st.(*stanza.Message); ok && m.ID == "big" {
						delivered = m.Body == body
					}
				}
				mu.Lock()
				defer mu.Unlock()
				if want := tc.bound > len(body); delivered != want || (reports == 0) != want {
					t.Errorf("delivered whole %v, %d reports; want delivered %v", delivered, reports, want)
				}
			})
		})
	}
}
