package conn

import (
	"bytes"
	"io"
	"regexp"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// tap receives go-xmpp's debug copy of the decrypted stream. During login
// it records the SASL mechanisms the server offers and every
// <stream:features> element as raw XML (go-xmpp exposes neither); with --debug-xml it also forwards the stream to the user with
// credentials redacted. Chunk boundaries are arbitrary, so the mechanism
// scan works on an accumulated buffer until the features are complete.
type tap struct {
	mu    sync.Mutex
	out   io.Writer // nil: not forwarding
	buf   []byte
	mechs []string
	cb    bool // channel-binding types offered (XEP-0440)
	login bool

	fbuf     []byte   // stream text not yet holding a complete features element
	features [][]byte // complete <stream:features> elements, oldest first

	watch *presenceWatch // nil unless Options.WatchPresence
	perr  presenceErrors // error presences, which go-xmpp's Presence garbles

	// XEP-0198 counting (smscan.go), both directions, from the first byte.
	sm       smCounters
	recvScan streamScan
	sendScan streamScan
	// noRecvScan: the session reads the stream itself (handoff.go) and
	// never enables XEP-0198 (Options.NoSM), so the scan of what it reads
	// has nothing to count; the framed reader finds a stream error's
	// condition itself (read.go). The scan was a twentieth of an archive
	// sync's client CPU (issue 16).
	noRecvScan bool

	afterRead func()       // acknowledges what was read at once (quickack.go); may be nil
	loginSock *loginSocket // the same during login; nil when not found or not Linux
	loginAck  bool         // loginSock had found the socket when login ended
}

var (
	reMech = regexp.MustCompile(`<mechanism>([A-Za-z0-9_-]+)</mechanism>`)
	// Only --debug-xml redacts: compiled on first use, not by every run.
	reSecret = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)(<(?:auth|response|initial-response|challenge|success|additional-data|password|hash|token)\b[^>]*>)([^<]+)(<)`)
	})
	reToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(token=['"])[^'"]*`) })
)

func newTap(out io.Writer) *tap {
	t := &tap{out: out, login: true}
	t.recvScan.onTop = t.sm.onRecv
	t.recvScan.onChild = t.sm.onRecvChild
	t.sendScan.onTop = t.sm.onSend
	return t
}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.afterRead != nil:
		if bytes.HasPrefix(p, []byte("RECV ")) {
			t.afterRead()
		}
	case t.login:
		// Our writes count too: with direct TLS the first thing the tap
		// sees is our stream header, while the server's TLS session ticket
		// waits for an ACK that holds back its stream features.
		t.loginSock.afterIO()
	}
	switch {
	case bytes.HasPrefix(p, []byte("RECV ")):
		// The same newline repair as for the features (captureFeatures).
		data := bytes.TrimSuffix(p[5:], []byte("\n"))
		t.scanRecv(data)
		// Only go-xmpp's Recv, which reads through this copy, garbles
		// error presences (recv.go).
		t.perr.feed(data)
	case bytes.HasPrefix(p, []byte("SEND ")):
		t.sendScan.feed(p[5:])
	}
	if t.login && bytes.HasPrefix(p, []byte("RECV ")) {
		t.captureFeatures(p[5:])
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
	t.forward(p)
	return len(p), nil
}

// forward copies a line of the stream to --debug-xml, credentials
// redacted.
func (t *tap) forward(p []byte) {
	if t.out == nil {
		return
	}
	red := reSecret().ReplaceAll(p, []byte("${1}[redacted]${3}"))
	red = reToken().ReplaceAll(red, []byte("${1}[redacted]"))
	if _, err := t.out.Write(red); err != nil {
		t.out = nil // the debug sink failing must not break the session
	}
}

// scanRecv follows the server's bytes, as Write's "RECV " copies or
// received give them: the XEP-0198 counts and the presence watch.
func (t *tap) scanRecv(p []byte) {
	if !t.noRecvScan {
		t.recvScan.feed(p)
	}
	if t.watch != nil {
		t.watch.feed(p)
	}
}

// received takes what the receive loop read itself, past go-xmpp's tee
// (handoff.go): what a "RECV " write does, without the copy.
func (t *tap) received(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.afterRead != nil {
		t.afterRead()
	}
	t.scanRecv(p)
	if t.out != nil {
		line := append(append([]byte("RECV "), p...), '\n')
		if bytes.HasSuffix(p, []byte("\n")) {
			line = line[:len(line)-1]
		}
		t.forward(line)
	}
}

// sent counts what the session wrote itself (direct.go), as a "SEND "
// write does.
func (t *tap) sent(p []byte) {
	t.mu.Lock()
	t.sendScan.feed(p)
	t.mu.Unlock()
}

var (
	featStart = []byte("<stream:features")
	featEnd   = []byte("</stream:features>")
)

// captureFeatures collects complete <stream:features> elements. go-xmpp's
// debug writer appends a newline to every chunk that lacks one; it is
// removed again, so an element split across reads is rebuilt exactly
// unless a chunk really ended in a newline (whitespace between elements).
func (t *tap) captureFeatures(chunk []byte) {
	t.fbuf = append(t.fbuf, bytes.TrimSuffix(chunk, []byte("\n"))...)
	for {
		i := bytes.Index(t.fbuf, featStart)
		if i < 0 {
			// Keep a possible partial start tag only.
			if j := bytes.LastIndexByte(t.fbuf, '<'); j >= 0 {
				t.fbuf = append(t.fbuf[:0], t.fbuf[j:]...)
			} else {
				t.fbuf = t.fbuf[:0]
			}
			return
		}
		t.fbuf = append(t.fbuf[:0], t.fbuf[i:]...)
		gt := bytes.IndexByte(t.fbuf, '>')
		if gt < 0 {
			return
		}
		end := -1
		if t.fbuf[gt-1] == '/' {
			end = gt + 1 // <stream:features/>
		} else if k := bytes.Index(t.fbuf, featEnd); k >= 0 {
			end = k + len(featEnd)
		}
		if end < 0 {
			if len(t.fbuf) > 1<<16 {
				t.fbuf = t.fbuf[:0]
			}
			return
		}
		t.features = append(t.features, append([]byte(nil), t.fbuf[:end]...))
		t.fbuf = append(t.fbuf[:0], t.fbuf[end:]...)
	}
}

// streamFeatures returns copies of the features elements seen during login.
func (t *tap) streamFeatures() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([][]byte, len(t.features))
	for i, f := range t.features {
		out[i] = append([]byte(nil), f...)
	}
	return out
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

// expectSocket is called before each login attempt dials port.
func (t *tap) expectSocket(port int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loginSock.close()
	t.loginSock = newLoginSocket(port)
}

// endLogin ends the login-time captures; afterRead runs after each later read.
func (t *tap) endLogin(afterRead func()) {
	t.mu.Lock()
	t.loginAck = t.loginSock.found()
	t.loginSock.close()
	t.loginSock = nil
	t.afterRead = afterRead
	t.login = false
	t.buf = nil
	t.fbuf = nil
	t.mu.Unlock()
}

// presenceError returns the error of the error presence from from with id,
// as the stream carried it, or nil when the scan did not see it.
func (t *tap) presenceError(from, id string) *stanza.Error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.perr.take(from, id)
}

// stopWatch ends the presence watch, if any, when the stream is over.
func (t *tap) stopWatch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watch != nil {
		t.watch.stop()
		t.watch = nil // later reads (go-xmpp's Close) start no decoder
	}
}
