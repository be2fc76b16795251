package conn

import (
	"bytes"
	"io"
	"regexp"
	"sync"
)

// tap receives go-xmpp's debug copy of the decrypted stream. During login
// it records the SASL mechanisms the server offers (go-xmpp does not expose
// them); with --debug-xml it also forwards the stream to the user with
// credentials redacted. Chunk boundaries are arbitrary, so the mechanism
// scan works on an accumulated buffer until the features are complete.
type tap struct {
	mu    sync.Mutex
	out   io.Writer // nil: not forwarding
	buf   []byte
	mechs []string
	cb    bool // channel-binding types offered (XEP-0440)
	login bool
}

var (
	reMech   = regexp.MustCompile(`<mechanism>([A-Za-z0-9_-]+)</mechanism>`)
	reSecret = regexp.MustCompile(`(?s)(<(?:auth|response|initial-response|challenge|success|additional-data|password|hash|token)\b[^>]*>)([^<]+)(<)`)
	reToken  = regexp.MustCompile(`(token=['"])[^'"]*`)
)

func newTap(out io.Writer) *tap { return &tap{out: out, login: true} }

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.login && bytes.HasPrefix(p, []byte("RECV ")) {
		t.buf = append(t.buf, p[5:]...)
		if bytes.Contains(t.buf, []byte("</stream:features>")) || bytes.Contains(t.buf, []byte("</features>")) {
			for _, m := range reMech.FindAllSubmatch(t.buf, -1) {
				t.addMech(string(m[1]))
			}
			if bytes.Contains(t.buf, []byte("sasl-channel-binding")) {
				t.cb = true
			}
			t.buf = t.buf[:0]
		}
		if len(t.buf) > 1<<16 {
			t.buf = t.buf[:0]
		}
	}
	if t.out != nil {
		red := reSecret.ReplaceAll(p, []byte("${1}[redacted]${3}"))
		red = reToken.ReplaceAll(red, []byte("${1}[redacted]"))
		if _, err := t.out.Write(red); err != nil {
			t.out = nil // the debug sink failing must not break the session
		}
	}
	return len(p), nil
}

func (t *tap) addMech(m string) {
	for _, x := range t.mechs {
		if x == m {
			return
		}
	}
	t.mechs = append(t.mechs, m)
}

func (t *tap) offered() ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.mechs...), t.cb
}

func (t *tap) endLogin() {
	t.mu.Lock()
	t.login = false
	t.buf = nil
	t.mu.Unlock()
}

func (t *tap) forwarding() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out != nil
}
