package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/testserver"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/muc"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// archiveRun runs xmppctl as user with a persistent data dir.
func archiveRun(t *testing.T, user, dataDir string, args ...string) testserver.Result {
	t.Helper()
	return xmppctl(t, user, "", append([]string{"--data-dir", dataDir}, args...)...)
}

// pipeline sends n messages from s to to, pipelined, and waits for the
// server's acknowledgement. Bodies are prefix-0 … prefix-(n-1).
func pipeline(t *testing.T, s conn.Session, to string, typ stanza.MessageType, prefix string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bodies := make([]string, n)
	for i := range n {
		bodies[i] = fmt.Sprintf("%s-%d", prefix, i)
		m := outbox.Build(conn.NewID(), to, outbox.Content{Type: typ, Body: bodies[i]}, false)
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("send %s: %v", bodies[i], err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return bodies
}

// listJSON returns the local archive as decoded JSON lines.
func listJSON(t *testing.T, user, dataDir string, args ...string) []store.Message {
	t.Helper()
	res := archiveRun(t, user, dataDir, append([]string{"--json", "archive", "list"}, args...)...)
	mustOK(t, res)
	var out []store.Message
	sc := bufio.NewScanner(strings.NewReader(res.Stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m store.Message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// exactlyOnce checks that the listed bodies are exactly want, each once.
func exactlyOnce(t *testing.T, got []store.Message, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, m := range got {
		count[m.Body]++
	}
	missing, dup := 0, 0
	for _, w := range want {
		switch count[w] {
		case 0:
			missing++
			if missing <= 5 {
				t.Errorf("missing %q", w)
			}
		case 1:
		default:
			dup++
			if dup <= 5 {
				t.Errorf("%q stored %d times", w, count[w])
			}
		}
		delete(count, w)
	}
	for b, n := range count {
		t.Errorf("unexpected %q (%d times)", b, n)
	}
	if missing+dup > 0 || len(got) != len(want) {
		t.Fatalf("%d listed, want %d: %d missing, %d duplicated", len(got), len(want), missing, dup)
	}
}

type syncSummary struct {
	Archive    string `json:"archive"`
	New        int    `json:"new"`
	Duplicates int    `json:"duplicates"`
	Total      int    `json:"total"`
	LastID     string `json:"last_id"`
	Gap        bool   `json:"gap"`
}

func syncJSON(t *testing.T, user, dataDir string, args ...string) []syncSummary {
	t.Helper()
	res := archiveRun(t, user, dataDir, append([]string{"--json", "archive", "sync"}, args...)...)
	mustOK(t, res)
	var out []syncSummary
	for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
		var s syncSummary
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("bad summary %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// TestArchiveSync: 1,100 messages both ways plus a room; the first sync
// gets exactly all, the second none, the room's archive exactly its
// messages, and the local queries need no server.
func TestArchiveSync(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	as, bs := online(t, alice).s, srv.Dial(t, bob)
	want := pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "b2a", 600)
	want = append(want, pipeline(t, as, srv.JID(bob), stanza.ChatMessage, "a2b", 500)...)
	as.Close() // alice's archive sync must not compete with a live session of hers

	room := "arch-" + bob + "@" + srv.MUCHost
	rb := &receiver{s: bs, sub: bs.Subscribe()}
	t.Cleanup(rb.sub.Close)
	createRoom(t, rb, room, "bob")
	a2 := srv.Dial(t, alice)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := muc.Join(ctx, a2, room, "alice", ""); err != nil {
		t.Fatal(err)
	}
	wantRoom := pipeline(t, bs, room, stanza.GroupChatMessage, "room-bob", 30)
	wantRoom = append(wantRoom, pipeline(t, a2, room, stanza.GroupChatMessage, "room-alice", 20)...)
	a2.Close()

	dir := t.TempDir()
	sums := syncJSON(t, alice, dir)
	if len(sums) != 1 || sums[0].New != len(want) || sums[0].Total != len(want) || sums[0].Archive != srv.JID(alice) || sums[0].LastID == "" {
		t.Fatalf("first sync: %+v, want %d new", sums, len(want))
	}
	exactlyOnce(t, listJSON(t, alice, dir), want)
	// Nothing was encrypted: the sync made no OMEMO device (it opens one
	// at the first encrypted message only; e2e/omemo syncs those).
	if n := omemoIdentities(t, dir); n != 0 {
		t.Errorf("a sync without encrypted messages made %d OMEMO identities", n)
	}

	sums = syncJSON(t, alice, dir)
	if sums[0].New != 0 || sums[0].Total != len(want) {
		t.Fatalf("second sync: %+v, want 0 new", sums[0])
	}

	sums = syncJSON(t, alice, dir, "--room", room, "--nick", "alice")
	if len(sums) != 1 || sums[0].Archive != room || sums[0].New != len(wantRoom) {
		t.Fatalf("room sync: %+v, want %d new", sums, len(wantRoom))
	}
	got := listJSON(t, alice, dir, "--room", room)
	exactlyOnce(t, got, wantRoom)
	for _, m := range got {
		wantDir := store.In
		if strings.HasPrefix(m.Body, "room-alice") {
			wantDir = store.Out
		}
		if m.Direction != wantDir || m.Type != "groupchat" || m.With != room {
			t.Fatalf("room message %+v: want direction %s", m, wantDir)
		}
	}

	// Directions and peers of the chat messages.
	for _, m := range listJSON(t, alice, dir, "--with", srv.JID(bob), "--limit", "5") {
		if m.With != srv.JID(bob) || (strings.HasPrefix(m.Body, "a2b") != (m.Direction == store.Out)) {
			t.Fatalf("bad record %+v", m)
		}
	}
	// Search and export read the store only.
	res := archiveRun(t, alice, dir, "archive", "search", "b2a-599")
	mustOK(t, res)
	if strings.Count(res.Stdout, "\n") != 1 || !strings.Contains(res.Stdout, "<- "+srv.JID(bob)+"  b2a-599") {
		t.Errorf("search output %q", res.Stdout)
	}
	res = archiveRun(t, alice, dir, "archive", "export", "--format", "mbox", "--with", srv.JID(bob))
	mustOK(t, res)
	if n := strings.Count(res.Stdout, "\nMessage-ID: <"); n != len(want) {
		t.Errorf("mbox has %d messages, want %d", n, len(want))
	}
}

// TestArchiveSyncDuringTraffic: messages sent while a sync runs (to alice,
// and by alice's other device, arriving as carbons) end up stored exactly
// once, and a second sync adds nothing new.
func TestArchiveSyncDuringTraffic(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	a2 := srv.Dial(t, alice) // alice's other device
	want := pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "before", 400)

	dir := t.TempDir()
	cmd := exec.Command(testserver.Binary(t), append(srv.Flags(), "--data-dir", dir, "--json", "archive", "sync", "--page-size", "10")...)
	cmd.Env = append(os.Environ(), srv.AccountEnv(alice)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var during []string
	var mu sync.Mutex
	for _, p := range []struct {
		s      conn.Session
		to     string
		prefix string
	}{{bs, srv.JID(alice), "during-b2a"}, {a2, srv.JID(bob), "during-a2b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				b := pipeline(t, p.s, p.to, stanza.ChatMessage, fmt.Sprintf("%s-%d", p.prefix, i), 10)
				mu.Lock()
				during = append(during, b...)
				mu.Unlock()
				// Pacing, not waiting: spreads the traffic over the sync's
				// pages instead of landing it all before the first one.
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sync: %v\n%s", err, stderr.String())
	}
	t.Logf("first sync: %s", strings.TrimSpace(stdout.String()))
	want = append(want, during...)
	sums := syncJSON(t, alice, dir)
	if sums[0].New != 0 && sums[0].New+sums[0].Duplicates == 0 {
		t.Logf("second sync: %+v", sums[0])
	}
	// Whatever the first sync did not see, the second one fetched; neither
	// stored anything twice.
	exactlyOnce(t, listJSON(t, alice, dir), want)
	sums = syncJSON(t, alice, dir)
	if sums[0].New != 0 || sums[0].Total != len(want) {
		t.Fatalf("third sync: %+v, want 0 new and %d total", sums[0], len(want))
	}
}

// TestArchiveSyncWalks: an archive spread over several seconds is synced
// by several walks at once (mam.DefaultWalks; the walks after the first
// start from ids found by time, with one-result queries that --debug-xml
// shows): every message is stored exactly once, the sync ends at the
// newest message and the next sync adds nothing.
func TestArchiveSyncWalks(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	online(t, alice)
	var want []string
	for i := range 4 {
		if i > 0 {
			// The archives stamp messages to the second (Prosody): the
			// batches must fall in different ones for the walks to be
			// placed by time. The event is the clock's.
			time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
		}
		want = append(want, pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, fmt.Sprintf("w%d", i), 100)...)
	}
	dir := t.TempDir()
	res := archiveRun(t, alice, dir, "--debug-xml", "--json", "archive", "sync", "--page-size", "10")
	mustOK(t, res)
	if n := strings.Count(res.Stderr, "<max>1</max>"); n < 1 || n > mam.DefaultWalks-2 {
		t.Errorf("%d anchor queries, want 1 to %d", n, mam.DefaultWalks-2)
	}
	var sum syncSummary
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.Stdout)), &sum); err != nil || sum.New != len(want) {
		t.Fatalf("sync: %q (%v), want %d new", res.Stdout, err, len(want))
	}
	got := listJSON(t, alice, dir)
	exactlyOnce(t, got, want)
	for _, m := range got {
		if m.Body == want[len(want)-1] && m.StanzaID != sum.LastID {
			t.Errorf("the sync ends at %s, not at the newest message (%s)", sum.LastID, m.StanzaID)
		}
	}
	if sums := syncJSON(t, alice, dir); sums[0].New != 0 || sums[0].Total != len(want) {
		t.Fatalf("second sync: %+v, want nothing new", sums[0])
	}
}

// TestArchiveSyncKilled: a sync killed midway keeps what it committed; the
// next run ends with exactly the full set.
func TestArchiveSyncKilled(t *testing.T) {
	testserver.Require(t, srv)
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	online(t, alice) // online: no offline storage to fill (slow), the archive gets them all the same
	want := pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "k", 1000)

	dir := t.TempDir()
	cmd := exec.Command(testserver.Binary(t), append(srv.Flags(), "--data-dir", dir, "archive", "sync", "--page-size", "5")...)
	cmd.Env = append(os.Environ(), srv.AccountEnv(alice)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some pages are committed. Without a terminal the sync
	// prints nothing per page, so the committed rows are the event, seen
	// by polling the store (bounded by the deadline).
	st := waitForStore(t, dir)
	deadline := time.Now().Add(30 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		var err error
		if n, err = st.Count(context.Background(), srv.JID(alice), srv.JID(alice)); err == nil && n >= 100 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	n, _ = st.Count(context.Background(), srv.JID(alice), srv.JID(alice))
	st.Close()
	t.Logf("killed with %d of %d stored", n, len(want))
	if n >= len(want) {
		t.Log("the sync finished before the kill; the rerun still must add nothing")
	}
	sums := syncJSON(t, alice, dir)
	if sums[0].New != len(want)-n {
		t.Errorf("rerun stored %d new, want %d", sums[0].New, len(want)-n)
	}
	exactlyOnce(t, listJSON(t, alice, dir), want)
}

// omemoIdentities counts the OMEMO identities in the store of dir.
func omemoIdentities(t *testing.T, dir string) int {
	t.Helper()
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	err = st.Update(context.Background(), func(b *store.Batch) error {
		return b.Tx().QueryRow("SELECT COUNT(*) FROM omemo_identity").Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitForStore polls for the store the child creates: a file appearing
// has no event to wait on.
func waitForStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	path := filepath.Join(dir, store.FileName)
	for range 1000 {
		if _, err := os.Stat(path); err == nil {
			st, err := store.OpenFile(context.Background(), path)
			if err == nil {
				return st
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("store never created")
	return nil
}

// TestArchiveSyncStaleID: a sync point the archive no longer knows is
// reported as a gap and the sync starts over from the oldest message,
// without storing anything twice.
func TestArchiveSyncStaleID(t *testing.T) {
	testserver.Only(t, srv, testserver.Prosody, "ejabberd 23.01 answers an archive query after an id it does not know "+
		"with the whole archive instead of item-not-found (XEP-0313 §5.1.2), so there is no gap to report")
	alice, bob := srv.NewUser(t, "alice"), srv.NewUser(t, "bob")
	bs := srv.Dial(t, bob)
	want := pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "s", 30)
	dir := t.TempDir()
	syncJSON(t, alice, dir)
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(context.Background(), func(b *store.Batch) error {
		return b.SetSyncPoint(store.SyncPoint{Account: srv.JID(alice), Archive: srv.JID(alice), LastID: "expired-id"})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, pipeline(t, bs, srv.JID(alice), stanza.ChatMessage, "t", 5)...)
	res := archiveRun(t, alice, dir, "--json", "archive", "sync")
	mustOK(t, res)
	var sum syncSummary
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil {
		t.Fatalf("summary %q: %v", res.Stdout, err)
	}
	// The 5 new ones may also arrive live (offline delivery at login):
	// then they count as duplicates when the archive returns them.
	if !sum.Gap || sum.New != 5 || sum.Duplicates < 30 || sum.Total != 35 {
		t.Errorf("summary %+v: want gap, 5 new, 35 total", sum)
	}
	if !strings.Contains(res.Stderr, "no longer has the last synced message") {
		t.Errorf("stderr does not explain the gap: %q", res.Stderr)
	}
	exactlyOnce(t, listJSON(t, alice, dir), want)
}

// TestArchiveSyncNoArchive: an entity without MAM → exit 5 with a hint.
func TestArchiveSyncNoArchive(t *testing.T) {
	testserver.Require(t, srv)
	alice := srv.NewUser(t, "alice")
	res := archiveRun(t, alice, t.TempDir(), "archive", "sync", "--room", srv.UploadHost)
	wantExit(t, res, 5, "hint: ")
}

// TestArchiveListUsage: bad input is refused before touching anything.
func TestArchiveListUsage(t *testing.T) {
	testserver.Require(t, srv)
	alice := srv.NewUser(t, "alice")
	wantExit(t, archiveRun(t, alice, t.TempDir(), "archive", "list", "--since", "yesterday-ish"), 2, "--since")
	wantExit(t, archiveRun(t, alice, t.TempDir(), "archive", "export", "--format", "pdf"), 2, "--format")
}
