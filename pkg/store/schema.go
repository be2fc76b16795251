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
}
