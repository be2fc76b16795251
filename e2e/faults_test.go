package e2e

// Fault injection: xmppctl talks to Prosody through internal/faultproxy,
// which cuts, resets and freezes the connection where the test says. The
// proxy passes the bytes through: STARTTLS still ends at Prosody and the
// certificate is still verified for the account's domain.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/faultproxy"
	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// viaProxy starts a fault proxy in front of the test server's STARTTLS port.
func viaProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	testserver.Require(t, srv)
	p, err := faultproxy.Start(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// proxyFlags are srv.Flags() with the proxy as the server address.
func proxyFlags(p *faultproxy.Proxy) []string {
	return []string{"--server", p.Addr(), "--tls", "starttls", "--ca-file", srv.CAFile}
}

func xmppctlVia(t *testing.T, p *faultproxy.Proxy, user, stdin string, args ...string) testserver.Result {
	t.Helper()
	return testserver.Run(t, stdin, srv.AccountEnv(user), append(proxyFlags(p), args...)...)
}

// cutEach cuts every connection after bytes more bytes towards the server,
// until cuts connections have been cut (a login that fails over to another
// SASL mechanism opens a connection that never gets that far).
func cutEach(t *testing.T, p *faultproxy.Proxy, cuts int, bytes int64) {
	t.Helper()
	cutEachDir(t, p, faultproxy.ToServer, cuts, bytes)
}

// cutEachDir is cutEach in either direction.
func cutEachDir(t *testing.T, p *faultproxy.Proxy, dir faultproxy.Dir, cuts int, bytes int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p.ArmNext(faultproxy.CutAfter(dir, bytes))
	go func() {
		for n := p.Count() + 1; ; n++ {
			if _, err := p.Wait(ctx, faultproxy.Is(faultproxy.Accepted, n)); err != nil {
				return
			}
			fired := 0
			for _, e := range p.Events() {
				if e.Kind == faultproxy.Fired {
					fired++
				}
			}
			if c := p.Conn(n); c != nil && n > 1 && fired < cuts {
				c.Apply(faultproxy.CutAfter(dir, bytes))
			}
		}
	}()
}

type lineResult struct {
	To, ID, Status, Error string
}

func parseResults(t *testing.T, stdout string) []lineResult {
	t.Helper()
	var out []lineResult
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var r lineResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("json line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestSendLinesSurvivesTwoCuts: 2,000 lines, the connection cut twice in
// the middle of the stream. Every line reaches bob; none reported sent that
// did not; none arrives twice unless reported unknown (and then with the
// same id both times, a recognisable repeat).
func TestSendLinesSurvivesTwoCuts(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	p := viaProxy(t)
	// Login is a few kB; 2,000 messages are ~500 kB: cut the first two
	// connections well inside the stream.
	cutEach(t, p, 2, 150_000)
	const n = 2000
	var in strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "line %04d\n", i)
	}
	res := xmppctlVia(t, p, alice, in.String(), "--json", "send", "--lines", srv.JID(bob))
	mustOK(t, res)
	if fired := countEvents(p, faultproxy.Fired); fired != 2 {
		t.Fatalf("%d cuts, want 2", fired)
	}
	results := parseResults(t, res.Stdout)
	if len(results) != n {
		t.Fatalf("%d results, want one per line (%d)", len(results), n)
	}
	ids, unknown := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		if r.Status != "sent" {
			t.Errorf("line %s: status %s (%s)", r.ID, r.Status, r.Error)
		}
		ids[r.ID] = true
		unknown[r.ID] = r.Status == "unknown"
	}
	got := rb.messages(3*time.Second, fromUser(alice))
	seen := map[string]string{} // body → id
	repeats := 0
	for _, m := range got {
		if id, dup := seen[m.Body]; dup {
			repeats++
			if id != m.ID {
				t.Errorf("%q arrived twice with ids %s and %s: not a recognisable repeat", m.Body, id, m.ID)
			}
			if !unknown[m.ID] {
				t.Errorf("%q arrived twice but was reported sent", m.Body)
			}
			continue
		}
		seen[m.Body] = m.ID
		if !ids[m.ID] {
			t.Errorf("%q arrived with id %s, which no result reports", m.Body, m.ID)
		}
		if o, ok := stanza.Find(m.Ext, stanza.NSSID, "origin-id"); !ok || o.Attr("id") != m.ID {
			t.Errorf("%q: origin-id differs from the id %s", m.Body, m.ID)
		}
	}
	for i := 0; i < n; i++ {
		if _, ok := seen[fmt.Sprintf("line %04d", i)]; !ok {
			t.Errorf("line %04d never arrived", i)
		}
	}
	t.Logf("%d connections, %d messages, %d repeats", p.Count(), len(got), repeats)
}

func countEvents(p *faultproxy.Proxy, k faultproxy.EventKind) int {
	n := 0
	for _, e := range p.Events() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// TestListenThroughFreeze: the connection freezes (nothing passes either
// way, no FIN, no RST); listen's keepalive notices, it reconnects, and the
// message sent during the freeze is printed once.
func TestListenThroughFreeze(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	p := viaProxy(t)
	const keepalive = 2 * time.Second
	lp := startListenWith(t, proxyFlags(p), alice, t.TempDir(), "--keepalive", keepalive.String())
	sendMsg(t, bs, srv.JID(alice), "before")
	flush(t, bs)
	lp.waitFor(t, 1)

	live := p.Count()
	p.Conn(live).Apply(faultproxy.FreezeAfter(faultproxy.ToClient, 0))
	frozen, err := p.Wait(ctxFor(t, 30*time.Second), faultproxy.Is(faultproxy.Fired, live))
	if err != nil {
		t.Fatal(err)
	}
	sendMsg(t, bs, srv.JID(alice), "during-freeze")
	flush(t, bs)
	// The next connection is the reconnection after the keepalive failed.
	back, err := p.Wait(ctxFor(t, 60*time.Second), faultproxy.Is(faultproxy.Accepted, live+1))
	if err != nil {
		t.Fatalf("no reconnection after the freeze: %v\n%s", err, lp.errText())
	}
	t.Logf("freeze noticed and reconnecting after %v (keepalive %v)", back.At.Sub(frozen.At).Round(time.Millisecond), keepalive)
	lp.barrier(t, bs, srv.JID(alice))
	exactlyOnce(t, lp.waitFor(t, 2), []string{"before", "during-freeze"})
	if !strings.Contains(lp.errText(), "keepalive") {
		t.Errorf("the dead connection was not reported: %s", lp.errText())
	}
	lp.interrupt(t)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestSendOnceCutBeforeAck: the connection is cut just after the message
// went to the server, before the acknowledgement could come back. send
// retries once on a new connection, finds the message in the archive (so
// the server had it) and does not send it twice: delivered once, exit 0.
func TestSendOnceCutBeforeAck(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	p := viaProxy(t)
	// The message is the only TLS record this large: cut right after it.
	body := "cut-before-ack " + strings.Repeat("x", 4000)
	dir := t.TempDir()
	// A first clean run remembers the SASL mechanism, so that the cut hits
	// the one connection of the second run.
	mustOK(t, xmppctlVia(t, p, alice, "", "--data-dir", dir, "send", "-m", "warm-up", srv.JID(bob)))
	p.ArmNext(faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.ToServer, When: faultproxy.TLSRecordAtLeast(4000)})
	res := xmppctlVia(t, p, alice, "", "--data-dir", dir, "--json", "send", "-m", body, srv.JID(bob))
	mustOK(t, res)
	if countEvents(p, faultproxy.Fired) != 1 {
		t.Fatalf("the cut did not happen: %v", p.Events())
	}
	if !strings.Contains(res.Stderr, "reconnecting") {
		t.Errorf("the lost connection was not reported: %s", res.Stderr)
	}
	var r lineResult
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil || r.Status != "sent" {
		t.Fatalf("result %q: %v", res.Stdout, err)
	}
	got := rb.messages(3*time.Second, func(m *stanza.Message) bool { return fromUser(alice)(m) && m.Body == body })
	if len(got) != 1 {
		t.Fatalf("bob got the message %d times, want once", len(got))
	}
	if got[0].ID != r.ID {
		t.Errorf("id %s, reported %s", got[0].ID, r.ID)
	}
}

// TestArchiveSyncCutMidPage: the connection is cut while archive pages
// stream in; the sync reconnects, continues after the last committed page
// and ends with exactly the full set.
func TestArchiveSyncCutMidPage(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	// alice is online while bob writes: the messages are in her archive
	// only, not waiting offline (a flush of those at login is no page).
	as := srv.Dial(t, alice)
	flush(t, as)
	want := pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "archived", 300)
	as.Close()
	p := viaProxy(t)
	// 300 archived messages are ~200 kB towards the client: cut twice
	// inside that stream (each cut lands inside some page).
	cutEachDir(t, p, faultproxy.ToClient, 2, 45_000)
	dir := t.TempDir()
	res := xmppctlVia(t, p, alice, "", "--data-dir", dir, "--json", "archive", "sync", "--page-size", "50")
	mustOK(t, res)
	if n := countEvents(p, faultproxy.Fired); n != 2 {
		t.Fatalf("%d cuts, want 2", n)
	}
	if !strings.Contains(res.Stderr, "reconnecting") {
		t.Errorf("the lost connection was not reported: %s", res.Stderr)
	}
	var sum syncSummary
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil || sum.Total != len(want) {
		t.Errorf("summary %q (%v), want total %d", res.Stdout, err, len(want))
	}
	exactlyOnce(t, listJSON(t, alice, dir), want)
}

// TestUploadShareCutBeforeAck: the connection is cut just after the
// caption went to the server, before the acknowledgement. upload
// reconnects, finds the caption in the archive (not sent twice) and sends
// the link: bob gets each once, exit 0.
func TestUploadShareCutBeforeAck(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	p := viaProxy(t)
	file := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(file, []byte("shared across a cut\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caption := "caption " + strings.Repeat("c", 4000) // the only TLS record this large
	dir := t.TempDir()
	mustOK(t, xmppctlVia(t, p, alice, "", "--data-dir", dir, "send", "-m", "warm-up", srv.JID(bob))) // SASL mechanism remembered
	rb.messages(500*time.Millisecond, fromUser(alice))
	p.ArmNext(faultproxy.Fault{Action: faultproxy.Cut, Dir: faultproxy.ToServer, When: faultproxy.TLSRecordAtLeast(4000)})
	res := xmppctlVia(t, p, alice, "", "--data-dir", dir, "upload", "--caption", caption, "--to", srv.JID(bob), file)
	mustOK(t, res)
	if countEvents(p, faultproxy.Fired) != 1 {
		t.Fatalf("the cut did not happen: %v", p.Events())
	}
	url := strings.TrimSpace(res.Stdout)
	got := rb.messages(3*time.Second, fromUser(alice))
	count := map[string]int{}
	for _, m := range got {
		count[m.Body]++
	}
	if count[caption] != 1 || count[url] != 1 || len(got) != 2 {
		t.Errorf("bob got %d messages: caption %d times, link %d times; want each once", len(got), count[caption], count[url])
	}
}

// TestSendLinesTooLarge: one line over the server's stanza limit (Prosody:
// 256 KiB) but under 1 MiB makes the server close the stream; that line is
// reported failed, every other line is sent, exit 3. A line over 1 MiB is
// failed without being sent.
func TestSendLinesTooLarge(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	in := "first\nsecond\n" + strings.Repeat("b", 300<<10) + "\nthird\n" + strings.Repeat("h", 1<<20+5) + "\nfourth\n"
	res := xmppctl(t, alice, in, "--json", "send", "--lines", srv.JID(bob))
	if res.Code != 3 {
		t.Fatalf("exit %d, want 3 (partial); stderr:\n%s", res.Code, res.Stderr)
	}
	results := parseResults(t, res.Stdout)
	var statuses []string
	for _, r := range results {
		statuses = append(statuses, r.Status)
	}
	if got := strings.Join(statuses, " "); got != "sent sent failed sent failed sent" && got != "sent sent sent failed failed sent" {
		// The 1 MiB line is settled when read; the too-large one after the
		// server closed the stream: their order in the output may differ.
		if strings.Count(got, "failed") != 2 || strings.Count(got, "sent") != 4 {
			t.Errorf("statuses %q, want the two long lines failed and four sent", got)
		}
	}
	got := map[string]int{}
	for _, m := range rb.messages(3*time.Second, fromUser(alice)) {
		got[m.Body]++
	}
	for _, b := range []string{"first", "second", "third", "fourth"} {
		if got[b] != 1 {
			t.Errorf("%q arrived %d times, want once", b, got[b])
		}
	}
	if len(got) != 4 {
		t.Errorf("bob got %d distinct messages, want 4", len(got))
	}
}

// TestSendLinesThroughFreeze: the connection freezes in the middle of a
// --lines stream; the acknowledgement that does not come within --timeout
// counts as a lost connection, and every line still arrives exactly once.
func TestSendLinesThroughFreeze(t *testing.T) {
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	rb := online(t, bob)
	p := viaProxy(t)
	dir := t.TempDir()
	mustOK(t, xmppctlVia(t, p, alice, "", "--data-dir", dir, "send", "-m", "warm-up", srv.JID(bob))) // SASL mechanism remembered
	rb.messages(500*time.Millisecond, fromUser(alice))
	p.ArmNext(faultproxy.FreezeAfter(faultproxy.ToServer, 40_000))
	const n = 500
	var in strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&in, "frozen line %03d\n", i)
	}
	res := xmppctlVia(t, p, alice, in.String(), "--data-dir", dir, "--timeout", "5s", "--json", "send", "--lines", srv.JID(bob))
	mustOK(t, res)
	if countEvents(p, faultproxy.Fired) != 1 {
		t.Fatalf("the freeze did not happen: %v", p.Events())
	}
	for _, r := range parseResults(t, res.Stdout) {
		if r.Status != "sent" {
			t.Errorf("%s: %s (%s)", r.ID, r.Status, r.Error)
		}
	}
	got := map[string]int{}
	for _, m := range rb.messages(3*time.Second, fromUser(alice)) {
		got[m.Body]++
	}
	for i := 0; i < n; i++ {
		if b := fmt.Sprintf("frozen line %03d", i); got[b] != 1 {
			t.Errorf("%q arrived %d times, want once", b, got[b])
		}
	}
}
