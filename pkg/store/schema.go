package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to i+1 (PRAGMA
// user_version). Append only; never edit a released step.
var migrations = []string{
	// 1: messages, sync points, read state.
	`CREATE TABLE messages (
		pk          INTEGER PRIMARY KEY,
		account     TEXT NOT NULL,
		archive     TEXT NOT NULL,
		stanza_id   TEXT,
		origin_id   TEXT NOT NULL DEFAULT '',
		msg_id      TEXT NOT NULL DEFAULT '',
		id_key      TEXT NOT NULL DEFAULT '',
		from_jid    TEXT NOT NULL DEFAULT '',
		from_key    TEXT NOT NULL DEFAULT '',
		to_jid      TEXT NOT NULL DEFAULT '',
		with_jid    TEXT NOT NULL DEFAULT '',
		direction   TEXT NOT NULL,
		type        TEXT NOT NULL DEFAULT '',
		ts          INTEGER NOT NULL,
		body        TEXT NOT NULL DEFAULT '',
		subject     TEXT NOT NULL DEFAULT '',
		thread      TEXT NOT NULL DEFAULT '',
		oob_url     TEXT NOT NULL DEFAULT '',
		receipt_for TEXT NOT NULL DEFAULT '',
		marker      TEXT NOT NULL DEFAULT '',
		marker_for  TEXT NOT NULL DEFAULT '',
		replace_id  TEXT NOT NULL DEFAULT '',
		source      TEXT NOT NULL DEFAULT ''
	);
	CREATE UNIQUE INDEX messages_stanza_id ON messages(account, archive, stanza_id);
	CREATE INDEX messages_id_key ON messages(account, archive, id_key, from_key) WHERE id_key != '';
	CREATE INDEX messages_with_ts ON messages(account, with_jid, ts);
	CREATE INDEX messages_ts ON messages(account, ts);
	CREATE TABLE sync_points (
		account    TEXT NOT NULL,
		archive    TEXT NOT NULL,
		filter     TEXT NOT NULL DEFAULT '',
		last_id    TEXT NOT NULL DEFAULT '',
		last_ts    INTEGER NOT NULL DEFAULT 0,
		complete   INTEGER NOT NULL DEFAULT 0,
		gap_at     INTEGER NOT NULL DEFAULT 0,
		updated    INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (account, archive, filter)
	);
	CREATE TABLE chats (
		account       TEXT NOT NULL,
		with_jid      TEXT NOT NULL,
		read_ts       INTEGER NOT NULL DEFAULT 0,
		read_id       TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (account, with_jid)
	);`,
	// 2: OMEMO (XEP-0384) state and the encryption facts of archived
	// messages. The identity is one per account; everything keyed by
	// version belongs to one protocol version (its namespace), so that
	// OMEMO 2 keeps its own prekeys and sessions next to OMEMO 0.3's.
	`CREATE TABLE omemo_identity (
		account     TEXT PRIMARY KEY,
		device_id   INTEGER NOT NULL,
		reg_id      INTEGER NOT NULL,
		private_key BLOB NOT NULL,
		public_key  BLOB NOT NULL,
		created     INTEGER NOT NULL
	);
	CREATE TABLE omemo_prekeys (
		account TEXT NOT NULL,
		version TEXT NOT NULL,
		id      INTEGER NOT NULL,
		record  BLOB NOT NULL,
		PRIMARY KEY (account, version, id)
	);
	CREATE TABLE omemo_signed_prekeys (
		account TEXT NOT NULL,
		version TEXT NOT NULL,
		id      INTEGER NOT NULL,
		record  BLOB NOT NULL,
		created INTEGER NOT NULL,
		PRIMARY KEY (account, version, id)
	);
	CREATE TABLE omemo_sessions (
		account TEXT NOT NULL,
		version TEXT NOT NULL,
		jid     TEXT NOT NULL,
		device  INTEGER NOT NULL,
		record  BLOB NOT NULL,
		PRIMARY KEY (account, version, jid, device)
	);
	CREATE TABLE omemo_devices (
		account    TEXT NOT NULL,
		version    TEXT NOT NULL,
		jid        TEXT NOT NULL,
		device     INTEGER NOT NULL,
		identity   BLOB,
		trust      TEXT NOT NULL DEFAULT 'undecided',
		active     INTEGER NOT NULL DEFAULT 1,
		first_seen INTEGER NOT NULL DEFAULT 0,
		last_seen  INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (account, version, jid, device)
	);
	CREATE TABLE omemo_meta (
		account TEXT NOT NULL,
		version TEXT NOT NULL,
		key     TEXT NOT NULL,
		value   TEXT NOT NULL,
		PRIMARY KEY (account, version, key)
	);
	ALTER TABLE messages ADD COLUMN encrypted TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN sender_fp TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN trust TEXT NOT NULL DEFAULT '';
	ALTER TABLE messages ADD COLUMN decrypt_error TEXT NOT NULL DEFAULT '';`,
	// 3: JID keys normalised as RFC 7622 compares JIDs (stanza.BareJID)
	// instead of lower-cased: done in Go by normaliseJIDKeys.
	``,
	// 4: the indexes a message is looked up by (its stanza-id, its
	// origin-id) key it by a small integer per archive instead of the
	// account's and the archive's JIDs. Those ids are random, so every
	// message stored lands on another page of these indexes: with the
	// JIDs, each entry was nearly twice as wide, and a sync wrote and
	// compared nearly twice the pages (issue 16: a sync of 10,000
	// messages takes 0.91 of the client CPU, the store 0.87 of the size).
	`CREATE TABLE archives (
		id      INTEGER PRIMARY KEY,
		account TEXT NOT NULL,
		archive TEXT NOT NULL,
		UNIQUE (account, archive)
	);
	INSERT INTO archives (account, archive) SELECT DISTINCT account, archive FROM messages;
	ALTER TABLE messages ADD COLUMN arch INTEGER NOT NULL DEFAULT 0;
	UPDATE messages SET arch = (SELECT id FROM archives a WHERE a.account = messages.account AND a.archive = messages.archive);
	DROP INDEX messages_stanza_id;
	DROP INDEX messages_id_key;
	CREATE UNIQUE INDEX messages_arch_stanza_id ON messages(arch, stanza_id);
	CREATE INDEX messages_arch_id_key ON messages(arch, id_key, from_key) WHERE id_key != '';`,
	// 5: the origin-id index without the sender's key. An origin-id is
	// random, so (arch, id_key) finds the one row, rarely two, that the
	// lookup then checks the sender of; the sender's JID made each entry
	// half as wide again, and a sync's transaction dirtied more pages
	// than the store's page cache, smaller since, holds (store.go):
	// SQLite spills them to the WAL and reads them back (issue 16: a
	// sync of 10,000 messages made 7,058 pwrite and 2,396 pread calls
	// instead of 8,534 and 3,485).
	`DROP INDEX messages_arch_id_key;
	CREATE INDEX messages_arch_id ON messages(arch, id_key) WHERE id_key != '';`,
}

// goMigrations[v] runs after migrations[v-1], in the same transaction:
// data changes SQL alone cannot express.
var goMigrations = map[int]func(context.Context, *sql.Tx) error{
	3: normaliseJIDKeys,
}

// jidKeys are the columns holding a bare JID as stored by Bare (the
// from_key of a room message is an occupant JID and stays as it is).
var jidKeys = []struct{ table, column, where string }{
	{"messages", "account", ""},
	{"messages", "archive", ""},
	{"messages", "with_jid", ""},
	{"messages", "from_key", "type != 'groupchat'"},
	{"sync_points", "account", ""},
	{"sync_points", "archive", ""},
	{"chats", "account", ""},
	{"chats", "with_jid", ""},
	{"omemo_identity", "account", ""},
	{"omemo_prekeys", "account", ""},
	{"omemo_signed_prekeys", "account", ""},
	{"omemo_sessions", "account", ""},
	{"omemo_sessions", "jid", ""},
	{"omemo_devices", "account", ""},
	{"omemo_devices", "jid", ""},
	{"omemo_meta", "account", ""},
}

// normaliseJIDKeys rewrites every stored JID key that the RFC 7622
// normalisation changes (only JIDs with non-ASCII letters, A-labels or a
// trailing dot: for ASCII ones it is the lower-casing used before), so
// that lookups with the new keys find what was stored under the old ones.
// A row whose new key already exists (the same message or state stored
// under both forms) is the duplicate: it is dropped.
func normaliseJIDKeys(ctx context.Context, tx *sql.Tx) error {
	for _, k := range jidKeys {
		cond := ""
		if k.where != "" {
			cond = " AND " + k.where
		}
		olds, err := distinct(ctx, tx, "SELECT DISTINCT "+k.column+" FROM "+k.table+" WHERE 1=1"+cond)
		if err != nil {
			return fmt.Errorf("normalise %s.%s: %w", k.table, k.column, err)
		}
		for _, old := range olds {
			nu := Bare(old)
			if nu == old {
				continue
			}
			if _, err := tx.ExecContext(ctx, "UPDATE OR IGNORE "+k.table+" SET "+k.column+" = ? WHERE "+k.column+" = ?"+cond, nu, old); err != nil {
				return fmt.Errorf("normalise %s.%s: %w", k.table, k.column, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+k.table+" WHERE "+k.column+" = ?"+cond, old); err != nil {
				return fmt.Errorf("normalise %s.%s: %w", k.table, k.column, err)
			}
		}
	}
	return nil
}

func distinct(ctx context.Context, tx *sql.Tx, q string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
