package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	st, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func put(t *testing.T, st *Store, m Message) PutResult {
	t.Helper()
	var res PutResult
	err := st.Update(context.Background(), func(b *Batch) error {
		var err error
		res, err = b.Put(&m)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func all(t *testing.T, st *Store, f Filter) []Message {
	t.Helper()
	var out []Message
	if err := st.Messages(context.Background(), f, func(m *Message) error { out = append(out, *m); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

func msg(sid, origin, from, to, body string, at int) Message {
	dir, with := In, Bare(from)
	if Bare(from) == "alice@example.org" {
		dir, with = Out, Bare(to)
	}
	return Message{Account: "alice@example.org", Archive: "alice@example.org", StanzaID: sid, OriginID: origin,
		MsgID: origin, From: from, To: to, With: with, Direction: dir, Type: "chat",
		Time: t0.Add(time.Duration(at) * time.Second), Body: body}
}

func TestMigrateIdempotent(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		st, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		v, err := st.Version(context.Background())
		if err != nil || v != len(migrations) {
			t.Fatalf("version %d, %v; want %d", v, err, len(migrations))
		}
		st.Close()
	}
	var mode string
	st, _ := Open(context.Background(), dir)
	defer st.Close()
	if err := st.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	// The page cache is what a sync's peak RSS is sized by (issue 16).
	var cache int
	if err := st.db.QueryRow("PRAGMA cache_size").Scan(&cache); err != nil || cache != -cacheKiB {
		t.Errorf("cache_size %d, %v; want %d (KiB)", cache, err, -cacheKiB)
	}
}

func TestTooNew(t *testing.T) {
	dir := t.TempDir()
	st, _ := Open(context.Background(), dir)
	_, _ = st.db.Exec("PRAGMA user_version = 99")
	st.Close()
	if _, err := Open(context.Background(), dir); !errors.Is(err, ErrTooNew) {
		t.Fatalf("err = %v, want ErrTooNew", err)
	}
}

func TestPutDedup(t *testing.T) {
	tests := []struct {
		name   string
		first  Message
		second Message
		want   PutResult
	}{
		{"same stanza-id", msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0),
			msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0), Duplicate},
		{"same stanza-id, no other id", msg("s1", "", "bob@example.org/a", "alice@example.org", "hi", 0),
			msg("s1", "", "bob@example.org/a", "alice@example.org", "hi", 0), Duplicate},
		{"different stanza-id same origin-id", msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0),
			msg("s2", "o1", "bob@example.org/a", "alice@example.org", "hi", 1), Inserted},
		{"sent then archived", msg("", "o1", "alice@example.org/x", "bob@example.org", "hi", 0),
			msg("s9", "o1", "alice@example.org/x", "bob@example.org", "hi", 2), Merged},
		{"archived then carbon without id", msg("s9", "o1", "alice@example.org/x", "bob@example.org", "hi", 0),
			msg("", "o1", "alice@example.org/x", "bob@example.org", "hi", 2), Duplicate},
		{"live (full to) then archived (bare to)", msg("", "o1", "bob@example.org/a", "alice@example.org/res", "hi", 0),
			msg("s3", "o1", "bob@example.org/a", "alice@example.org", "hi", 0), Merged},
		{"same origin-id other sender", msg("", "o1", "bob@example.org/a", "alice@example.org", "hi", 0),
			msg("s3", "o1", "carol@example.org/a", "alice@example.org", "hi", 0), Inserted},
		{"same origin-id other recipient", msg("", "o1", "alice@example.org/a", "bob@example.org", "hi", 0),
			msg("s3", "o1", "alice@example.org/a", "carol@example.org", "hi", 0), Inserted},
		{"no ids at all", msg("", "", "bob@example.org/a", "alice@example.org", "hi", 0),
			msg("", "", "bob@example.org/a", "alice@example.org", "hi", 0), Inserted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t)
			if got := put(t, st, tt.first); got != Inserted {
				t.Fatalf("first put = %v", got)
			}
			if got := put(t, st, tt.second); got != tt.want {
				t.Fatalf("second put = %v, want %v", got, tt.want)
			}
			if tt.want == Merged {
				got := all(t, st, Filter{})
				if len(got) != 1 || got[0].StanzaID != tt.second.StanzaID || !got[0].Time.Equal(tt.second.Time) {
					t.Fatalf("after merge: %+v", got)
				}
			}
		})
	}
}

func TestMessagesFilter(t *testing.T) {
	st := open(t)
	for i, m := range []Message{
		msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hello bob", 1),
		msg("s2", "o2", "alice@example.org/x", "bob@example.org", "100% sure_", 2),
		msg("s3", "o3", "carol@example.org/a", "alice@example.org", "carol here", 3),
		msg("s4", "o4", "bob@example.org/a", "alice@example.org", "", 4),
	} {
		if i == 3 {
			m.ReceiptFor = "o2"
		}
		put(t, st, m)
	}
	bodies := func(ms []Message) (out []string) {
		for _, m := range ms {
			out = append(out, m.Body)
		}
		return out
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all", Filter{}, []string{"hello bob", "100% sure_", "carol here", ""}},
		{"content", Filter{Content: true}, []string{"hello bob", "100% sure_", "carol here"}},
		{"with", Filter{With: []string{"bob@example.org/zzz"}, Content: true}, []string{"hello bob", "100% sure_"}},
		{"limit keeps newest, oldest first", Filter{Limit: 2, Content: true}, []string{"100% sure_", "carol here"}},
		{"since/until", Filter{Since: t0.Add(2 * time.Second), Until: t0.Add(3 * time.Second)}, []string{"100% sure_", "carol here"}},
		{"text is literal", Filter{Text: "0% S"}, []string{"100% sure_"}},
		{"text wildcard chars escaped", Filter{Text: "_"}, []string{"100% sure_"}},
		{"account", Filter{Account: "nobody@example.org"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bodies(all(t, st, tt.f))
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
	if id, _, err := st.Latest(context.Background(), "alice@example.org", "alice@example.org"); err != nil || id != "s4" {
		t.Errorf("Latest = %q, %v", id, err)
	}
}

func TestSyncPointAndReadState(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	if _, ok, err := st.GetSyncPoint(ctx, "a@x", "a@x", ""); ok || err != nil {
		t.Fatalf("fresh store has a sync point: %v %v", ok, err)
	}
	p := SyncPoint{Account: "a@x", Archive: "A@x", LastID: "id1", LastTime: t0, Complete: true, GapAt: t0}
	if err := st.Update(ctx, func(b *Batch) error { return b.SetSyncPoint(p) }); err != nil {
		t.Fatal(err)
	}
	p.LastID, p.GapAt = "id2", time.Time{}
	if err := st.Update(ctx, func(b *Batch) error { return b.SetSyncPoint(p) }); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.GetSyncPoint(ctx, "a@x", "a@x", "")
	if err != nil || !ok || got.LastID != "id2" || !got.Complete || !got.GapAt.Equal(t0) || !got.LastTime.Equal(t0) {
		t.Fatalf("sync point %+v %v %v (the gap must be remembered)", got, ok, err)
	}
	if _, ok, _ := st.GetSyncPoint(ctx, "a@x", "a@x", "with=b@x"); ok {
		t.Error("a filtered sync shares the unfiltered sync point")
	}
	for _, at := range []int{5, 3} { // read state never moves back
		if err := st.Update(ctx, func(b *Batch) error { return b.MarkRead("a@x", "B@x/r", t0.Add(time.Duration(at)*time.Second), "m") }); err != nil {
			t.Fatal(err)
		}
	}
	if ts, _, err := st.ReadState(ctx, "a@x", "b@x"); err != nil || !ts.Equal(t0.Add(5*time.Second)) {
		t.Errorf("read state %v %v", ts, err)
	}
}

func TestUpdateRollsBack(t *testing.T) {
	st := open(t)
	boom := errors.New("boom")
	err := st.Update(context.Background(), func(b *Batch) error {
		m := msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0)
		if _, err := b.Put(&m); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n, _ := st.Count(context.Background(), "alice@example.org", "alice@example.org"); n != 0 {
		t.Fatalf("%d messages survived a failed batch", n)
	}
}

// A batch whose context ends keeps nothing, although its statements run
// without the context's cancellation (Update): the transaction itself
// still ends with it, and Update says why, whichever statement the
// rollback overtook (database/sql runs it on its own goroutine): the
// insert fails on a closed statement or the commit on a finished
// transaction. The interrupted exit code depends on it. Before Update
// said so, the first case failed 3 runs in 300 (CI at the eleventh stop);
// afterRollback waits for the rollback to make it certain.
func TestUpdateCancelled(t *testing.T) {
	for _, afterRollback := range []bool{false, true} {
		st := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		err := st.Update(ctx, func(b *Batch) error {
			m := msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0)
			if _, err := b.Put(&m); err != nil {
				return err
			}
			cancel()
			for afterRollback {
				if _, err := b.Tx().Exec("SELECT 1"); errors.Is(err, sql.ErrTxDone) {
					break
				}
				runtime.Gosched()
			}
			m = msg("s2", "o2", "bob@example.org/a", "alice@example.org", "hi again", 1)
			_, err := b.Put(&m) // fails, or succeeds before the rollback: either way nothing is kept
			if afterRollback && (err == nil || errors.Is(err, context.Canceled)) {
				t.Fatalf("Put after the rollback: %v, want database/sql's own error", err)
			}
			return err
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("afterRollback=%v: Update after cancel: %v, want context.Canceled", afterRollback, err)
		}
		if n, _ := st.Count(context.Background(), "alice@example.org", "alice@example.org"); n != 0 {
			t.Fatalf("afterRollback=%v: %d messages survived a cancelled batch", afterRollback, n)
		}
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l1, err := Acquire(ctx, dir, "a@x", nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := false
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := Acquire(cctx, dir, "A@x", func() { waited = true }); !errors.Is(err, ErrLocked) || !waited {
		t.Fatalf("second lock: %v (waited %v), want ErrLocked", err, waited)
	}
	if l, err := Acquire(ctx, dir, "b@x", nil); err != nil {
		t.Fatalf("another account's lock: %v", err)
	} else {
		l.Release()
	}
	l1.Release()
	l2, err := Acquire(ctx, dir, "a@x", nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
	if filepath.Dir(LockPath(dir, "a@x")) != dir {
		t.Error("lock outside the data dir")
	}
}

// A data dir written by schema 1 (before OMEMO) migrates: its messages
// stay, gain the encryption columns, and the OMEMO tables exist.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{migrations[0], "PRAGMA user_version = 1",
		`INSERT INTO messages (account, archive, stanza_id, direction, ts, body) VALUES ('a@x', 'a@x', 's1', 'in', 1, 'old')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	st := openMigrated(ctx, t, path)
	var got []Message
	err = st.Messages(ctx, Filter{Account: "a@x"}, func(m *Message) error { got = append(got, *m); return nil })
	if err != nil || len(got) != 1 || got[0].Body != "old" || got[0].Encrypted != "" {
		t.Fatalf("messages after migration: %+v, %v", got, err)
	}
	if _, err := st.db.Exec(`INSERT INTO omemo_devices (account, version, jid, device) VALUES ('a@x', 'v', 'b@x', 1)`); err != nil {
		t.Fatalf("omemo tables missing: %v", err)
	}
}

// TestFilesArePrivate (issue 14 defect 10): the database and the -wal
// and -shm files SQLite creates beside it (they hold message bodies) are
// 0600 whatever the umask, also for a store an older version created.
func TestFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	// An older xmppctl's store: created with the umask's mode.
	if err := os.WriteFile(filepath.Join(dir, FileName+"-wal"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		seen[e.Name()] = true
		if info.Mode() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", e.Name(), info.Mode())
		}
	}
	for _, name := range []string{FileName, FileName + "-wal", FileName + "-shm"} {
		if !seen[name] {
			t.Errorf("%s missing (seen %v)", name, seen)
		}
	}
}

// TestMigrateNormalisesJIDKeys: keys written by the lower-casing of
// schema 2 that the RFC 7622 normalisation writes differently (A-labels,
// full-width letters, a trailing dot) are found under the new keys after
// migration 3; a row stored under both forms is kept once; ASCII keys
// and the occupant JIDs of room messages are left alone.
func TestMigrateNormalisesJIDKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const msg = `INSERT INTO messages (account, archive, stanza_id, direction, ts, body, with_jid, from_key, type) VALUES `
	for _, q := range []string{migrations[0], migrations[1], "PRAGMA user_version = 2",
		msg + `('a@x', 'a@x', 's1', 'in', 1, 'punycode', 'bob@xn--bcher-kva.example', 'bob@xn--bcher-kva.example', 'chat')`,
		msg + `('a@x', 'room@xn--bcher-kva.example', 's2', 'in', 2, 'twice', 'room@xn--bcher-kva.example', 'room@xn--bcher-kva.example/nick', 'groupchat')`,
		msg + `('a@x', 'room@bücher.example', 's2', 'in', 2, 'twice', 'room@bücher.example', 'room@bücher.example/nick', 'groupchat')`,
		msg + `('a@x', 'a@x', 's3', 'in', 3, 'ascii', 'carol@x', 'carol@x', 'chat')`,
		`INSERT INTO chats (account, with_jid, read_ts, read_id) VALUES ('a@x', 'bob@xn--bcher-kva.example', 5, 'r')`,
		`INSERT INTO sync_points (account, archive, last_id) VALUES ('a@x', 'room@example.org.', 'last')`,
		`INSERT INTO omemo_devices (account, version, jid, device) VALUES ('a@x', 'v', 'ｂｏｂ@example.org', 7)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	st := openMigrated(ctx, t, path)
	got := all(t, st, Filter{Account: "a@x", With: []string{"Bob@bücher.example"}})
	if len(got) != 1 || got[0].Body != "punycode" {
		t.Errorf("messages with bob@bücher.example: %+v", got)
	}
	got = all(t, st, Filter{Account: "a@x", Archive: "room@xn--bcher-kva.example"})
	if len(got) != 1 || got[0].Body != "twice" {
		t.Errorf("room messages: %+v (want the one stored under both forms once)", got)
	}
	if got = all(t, st, Filter{Account: "a@x", With: []string{"carol@x"}}); len(got) != 1 {
		t.Errorf("ascii messages: %+v", got)
	}
	var fromKey string
	if err := st.db.QueryRow(`SELECT from_key FROM messages WHERE stanza_id='s2'`).Scan(&fromKey); err != nil ||
		fromKey != "room@xn--bcher-kva.example/nick" && fromKey != "room@bücher.example/nick" {
		t.Errorf("room from_key %q, %v: occupant JIDs are not bare keys", fromKey, err)
	}
	if ts, _, err := st.ReadState(ctx, "a@x", "bob@bücher.example/phone"); err != nil || ts.UnixMilli() != 5 {
		t.Errorf("read state %v, %v", ts, err)
	}
	if p, ok, err := st.GetSyncPoint(ctx, "a@x", "room@example.org", ""); err != nil || !ok || p.LastID != "last" {
		t.Errorf("sync point %+v, %v, %v", p, ok, err)
	}
	var dev int
	if err := st.db.QueryRow(`SELECT device FROM omemo_devices WHERE jid = ?`, Bare("ＢＯＢ@example.org")).Scan(&dev); err != nil || dev != 7 {
		t.Errorf("omemo device %d, %v", dev, err)
	}
}

// openMigrated opens the store at path, which must then be at the newest
// schema version; it is closed when the test ends.
func openMigrated(ctx context.Context, t *testing.T, path string) *Store {
	t.Helper()
	st, err := OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if v, _ := st.Version(ctx); v != len(migrations) {
		t.Fatalf("version %d, want %d", v, len(migrations))
	}
	return st
}

// TestPutKeepsEveryColumn: whichever of the optional columns a message
// sets (the insert binds only those), every field reads back as stored.
func TestPutKeepsEveryColumn(t *testing.T) {
	st, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := Message{Account: "alice@example.org", Archive: "alice@example.org", From: "bob@example.org/r",
		To: "alice@example.org", With: "bob@example.org", Direction: In, Type: "chat", Body: "b", Source: "mam"}
	full := base
	full.Subject, full.Thread, full.OOB, full.ReceiptFor = "s", "t", "https://x/y", "r"
	full.Marker, full.MarkerFor, full.Replace = "displayed", "m", "old"
	full.Encrypted, full.SenderFP, full.Trust, full.DecryptError = "urn:xmpp:omemo:2", "fp", "trusted", "no session"
	some := base
	some.Thread, some.Replace, some.Trust = "t2", "old2", "undecided"
	var want []Message
	for i, m := range []Message{base, full, some, full, base} {
		m.StanzaID = fmt.Sprintf("sid-%d", i)
		m.OriginID = fmt.Sprintf("o-%d", i)
		m.Time = time.UnixMilli(int64(1000 * (i + 1))).UTC()
		want = append(want, m)
	}
	err = st.Update(context.Background(), func(b *Batch) error {
		for i := range want {
			if res, err := b.Put(&want[i]); err != nil || res != Inserted {
				return fmt.Errorf("put %d: %v %v", i, res, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []Message
	err = st.Messages(context.Background(), Filter{Account: "alice@example.org"}, func(m *Message) error {
		got = append(got, *m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages read back, want %d", len(got), len(want))
	}
	for i := range want {
		got[i].Time = got[i].Time.UTC()
		if got[i] != want[i] {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// A store of schema 3 migrates to the per-archive ids of schema 4: every
// message gets its archive's id, two archives (here the account's and a
// room's, holding the same stanza-id) get two, and the lookups by
// stanza-id and by origin-id find the old rows: an archived copy already
// stored is a duplicate, the archived copy of a message stored when sent
// merges into it, and the room's copy of the same id is another message.
func TestMigrateFromV3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const ins = `INSERT INTO messages (account, archive, stanza_id, origin_id, msg_id, id_key, from_jid, from_key, to_jid,
		with_jid, direction, type, ts, body) VALUES `
	for _, q := range []string{migrations[0], migrations[1], "PRAGMA user_version = 3",
		ins + `('alice@example.org', 'alice@example.org', 's1', 'o1', 'o1', 'o1', 'bob@example.org/a', 'bob@example.org',
			'alice@example.org', 'bob@example.org', 'in', 'chat', 1, 'archived')`,
		ins + `('alice@example.org', 'alice@example.org', NULL, 'o2', 'o2', 'o2', 'alice@example.org/x', 'alice@example.org',
			'bob@example.org', 'bob@example.org', 'out', 'chat', 2, 'sent')`,
		ins + `('alice@example.org', 'room@muc.example.org', 's1', 'o3', 'o3', 'o3', 'room@muc.example.org/bob', 'room@muc.example.org/bob',
			'alice@example.org', 'room@muc.example.org', 'in', 'groupchat', 3, 'in the room')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	st := openMigrated(ctx, t, path)
	var archs int
	if err := st.db.QueryRow(`SELECT COUNT(DISTINCT arch) FROM messages WHERE arch != 0`).Scan(&archs); err != nil || archs != 2 {
		t.Fatalf("%d archive ids, %v; want 2", archs, err)
	}
	if got := put(t, st, msg("s1", "o1", "bob@example.org/a", "alice@example.org", "archived", 1)); got != Duplicate {
		t.Errorf("the archived message again: %v, want a duplicate", got)
	}
	if got := put(t, st, msg("s2", "o2", "alice@example.org/x", "bob@example.org", "sent", 2)); got != Merged {
		t.Errorf("the archived copy of the sent message: %v, want merged", got)
	}
	if got := put(t, st, msg("s3", "o4", "bob@example.org/a", "alice@example.org", "new", 4)); got != Inserted {
		t.Errorf("a new message: %v", got)
	}
	if n, err := st.Count(ctx, "alice@example.org", "alice@example.org"); err != nil || n != 3 {
		t.Errorf("account archive holds %d, %v; want 3", n, err)
	}
	if n, err := st.Count(ctx, "alice@example.org", "room@muc.example.org"); err != nil || n != 1 {
		t.Errorf("room archive holds %d, %v; want 1", n, err)
	}
	if n, err := st.Count(ctx, "alice@example.org", "nowhere@example.org"); err != nil || n != 0 {
		t.Errorf("an archive never stored holds %d, %v", n, err)
	}
}

// Put's lookups and the insert's conflict check run on the per-archive
// indexes (schemas 4 and 5), not on a scan or on the account's time index: what
// keeps a sync's store work proportional to the pages it touches.
func TestPutUsesArchiveIndexes(t *testing.T) {
	st := open(t)
	put(t, st, msg("s1", "o1", "bob@example.org/a", "alice@example.org", "hi", 0))
	for q, index := range map[string]string{
		qUnidentified: "messages_arch_stanza_id",
		qByStanzaID:   "messages_arch_stanza_id",
		qByIDKey:      "messages_arch_id (",
		qByIDKeyRoom:  "messages_arch_id (",
	} {
		rows, err := st.db.Query("EXPLAIN QUERY PLAN "+q, 1, "x", "y")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "; "
		}
		rows.Close()
		if !strings.Contains(plan, index) {
			t.Errorf("%s\nplan: %s\nwant it on %s", q, plan, index)
		}
	}
}
