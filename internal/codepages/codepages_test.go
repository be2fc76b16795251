//go:build linux

package codepages

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

const smaps = `00400000-00d38000 r-xp 00000000 fd:01 4242                               /usr/bin/xmppctl
Size:               9440 kB
Rss:                8608 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00d38000-0165e000 r--p 00938000 fd:01 4242                               /usr/bin/xmppctl
Size:               9368 kB
Anonymous:             4 kB
VmFlags: rd mr mw me
0165e000-0172a000 rw-p 0125e000 fd:01 4242                               /usr/bin/xmppctl
Anonymous:           196 kB
0172a000-0377d000 rw-p 00000000 00:00 0
Anonymous:           240 kB
7f0000000000-7f0000001000 r--p 00000000 fd:01 999                        /usr/lib/other
Anonymous:             0 kB
7f0000100000-7f0000200000 r--p 00001000 103:02 4242                      /elsewhere/same-inode
Anonymous:             0 kB
7f0000300000-7f0000400000 r--p 00002000 fd:01 4242                       /usr/bin/xmppctl (deleted)
Anonymous:             0 kB
`

// Only the executable's read-only private mappings without a page of
// their own are dropped: not the one holding a written page (a debugger's
// breakpoint), not the data segment, not another file or device.
func TestUnwritten(t *testing.T) {
	got := unwritten(strings.NewReader(smaps), mkdev(0xfd, 0x01), 4242)
	want := []mapping{
		{start: 0x400000, end: 0xd38000, readOnlyPrivate: true, dev: mkdev(0xfd, 1), inode: 4242},
		{start: 0x7f0000300000, end: 0x7f0000400000, readOnlyPrivate: true, dev: mkdev(0xfd, 1), inode: 4242},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseMapping(t *testing.T) {
	for _, line := range []string{
		"",
		"00400000-00d38000 r-xp 00000000 fd:01",
		"00400000 r-xp 00000000 fd:01 1 /x",
		"zz-00d38000 r-xp 00000000 fd:01 1 /x",
		"00d38000-00400000 r-xp 00000000 fd:01 1 /x",
		"00400000-00d38000 r-xp 00000000 fd01 1 /x",
		"00400000-00d38000 r-xp 00000000 fd:01 -1 /x",
	} {
		if m, ok := parseMapping([]byte(line)); ok {
			t.Errorf("%q parsed as %+v", line, m)
		}
	}
	for line, ro := range map[string]bool{
		"1000-2000 r-xp 0 08:01 7 /x": true,
		"1000-2000 r--p 0 08:01 7 /x": true,
		"1000-2000 rw-p 0 08:01 7 /x": false,
		"1000-2000 r--s 0 08:01 7 /x": false,
		"1000-2000 ---p 0 08:01 7 /x": false,
	} {
		m, ok := parseMapping([]byte(line))
		if !ok || m.readOnlyPrivate != ro || m.inode != 7 || m.dev != mkdev(8, 1) {
			t.Errorf("%q: %+v %v", line, m, ok)
		}
	}
}

// The assumption Drop rests on: Linux maps a dropped page of a private,
// read-only file mapping again from the file when it is used, so the
// program runs on unchanged, with fewer file pages resident right after.
func TestDropKeepsRunning(t *testing.T) {
	sum := func() string { s := sha256.Sum256([]byte("codepages")); return hex.EncodeToString(s[:]) }
	want := sum()
	before := rssFile(t)
	if n := Drop(); n == 0 {
		t.Fatal("dropped nothing: the test binary's mappings were not found in /proc/self/smaps")
	}
	after := rssFile(t)
	if got := sum(); got != want {
		t.Fatalf("sha256 after Drop: %s, want %s", got, want)
	}
	if after >= before {
		t.Errorf("RssFile %d kB after Drop, %d kB before", after, before)
	}
}

// rssFile returns RssFile from /proc/self/status, in kB.
func rssFile(t *testing.T) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}
