package jingle

import (
	"os"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
)

// TestBigFile sends 1 GiB over direct SOCKS5 and checks that neither
// process grows: streaming must keep peak RSS under 30 MiB. It takes about
// 12 s and 2 GiB of temporary disk; XMPPCTL_SKIP_BIG=1 skips it in quick
// local runs.
func TestBigFile(t *testing.T) {
	testserver.Require(t, srv)
	if os.Getenv("XMPPCTL_SKIP_BIG") == "1" {
		t.Skip("XMPPCTL_SKIP_BIG=1: the 1 GiB transfer is skipped")
	}
	const size = 1 << 30
	const maxRSSKiB = 30 << 10
	alice, bob := srv.NewUser(t, "jba"), srv.NewUser(t, "jbb")
	dir := t.TempDir()
	recv := start(t, bob, "--json", "jingle-receive", "--dir", dir, "--from", srv.JID(alice), "--count", "1",
		"--auto-accept", "--candidate-addr", loop, "--proxy", "none")
	bobJID := recv.ready(t)
	file, sum := randomFile(t, "big.bin", size)
	send := run(t, alice, "--json", "jingle-send", "--candidate-addr", loop, "--proxy", "none", file, bobJID)
	if send.code != 0 {
		t.Fatalf("jingle-send exit %d:\n%s", send.code, send.stderr.String())
	}
	recv.wait(t, 5*time.Minute)
	if recv.code != 0 {
		t.Fatalf("jingle-receive exit %d:\n%s", recv.code, recv.stderr.String())
	}
	if got := fileSum(t, dir+"/big.bin"); got != sum {
		t.Fatal("received file differs")
	}
	t.Logf("peak RSS: sender %d KiB, receiver %d KiB", send.maxRSS, recv.maxRSS)
	if send.maxRSS > maxRSSKiB || recv.maxRSS > maxRSSKiB {
		t.Errorf("peak RSS sender %d KiB, receiver %d KiB; want both under %d KiB", send.maxRSS, recv.maxRSS, maxRSSKiB)
	}
}
