package store

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
}
