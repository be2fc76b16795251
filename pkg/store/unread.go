package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Unread is a one-to-one conversation with messages newer than the point
// up to which the account read it.
type Unread struct {
	With      string    `json:"with"`
	Count     int       `json:"unread"`
	ReadUntil time.Time `json:"read_until,omitzero"` // zero: never read
	Newest    *Message  `json:"newest"`
}

// readPoints computes, per peer of the account's archive, the point up
// to which the chat was read, as a position (ts, pk) in the store's order
// (the archive's second-precision stamps make many messages share a ts):
// the newest of (a) the message each "displayed" marker any of our
// devices sent names (XEP-0333: "everything up to this one"; the marker
// itself when that message is not stored), (b) each of our messages with
// content (a reply shows the chat was read, as "listen" counts it), (c)
// what "listen" and "archive read" recorded in chats (a time only).
const readPoints = `
WITH points(with_jid, ts, pk) AS (
	SELECT k.with_jid, COALESCE(r.ts, k.ts), COALESCE(r.pk, k.pk)
	FROM messages k LEFT JOIN messages r ON r.account = k.account AND r.archive = k.archive
		AND r.with_jid = k.with_jid AND r.direction = 'in'
		AND (r.msg_id = k.marker_for OR r.stanza_id = k.marker_for OR r.origin_id = k.marker_for)
	WHERE k.account = ?1 AND k.archive = ?1 AND k.direction = 'out' AND k.marker = 'displayed' AND k.marker_for != ''
	UNION ALL
	SELECT with_jid, ts, pk FROM messages WHERE account = ?1 AND archive = ?1 AND direction = 'out'
		AND (body != '' OR subject != '' OR oob_url != '')
	UNION ALL
	SELECT with_jid, read_ts, 9223372036854775807 FROM chats WHERE account = ?1
),
read(with_jid, ts, pk) AS (SELECT with_jid, ts, pk FROM (SELECT with_jid, ts, pk,
	ROW_NUMBER() OVER (PARTITION BY with_jid ORDER BY ts DESC, pk DESC) AS n FROM points) WHERE n = 1)
`

// Unread returns the conversations of the account (not rooms) with
// incoming messages with content newer than their read point, the one
// with the newest message first.
func (s *Store) Unread(ctx context.Context, account string) ([]Unread, error) {
	account = Bare(account)
	rows, err := s.db.QueryContext(ctx, readPoints+`
		SELECT c.with_jid, COUNT(*), COALESCE(read.ts, 0) FROM messages c LEFT JOIN read ON read.with_jid = c.with_jid
		WHERE c.account = ?1 AND c.archive = ?1 AND c.direction = 'in' AND c.type != 'groupchat'
		AND (c.body != '' OR c.subject != '' OR c.oob_url != '')
		AND (read.ts IS NULL OR c.ts > read.ts OR (c.ts = read.ts AND c.pk > read.pk))
		GROUP BY c.with_jid ORDER BY MAX(c.ts) DESC, c.with_jid`, account)
	if err != nil {
		return nil, fmt.Errorf("store: unread: %w", err)
	}
	var out []Unread
	for rows.Next() {
		var u Unread
		var ts int64
		if err := rows.Scan(&u.With, &u.Count, &ts); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: unread: %w", err)
		}
		if ts > 0 {
			u.ReadUntil = time.UnixMilli(ts).UTC()
		}
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unread: %w", err)
	}
	for i := range out {
		m, ok, err := s.NewestIncoming(ctx, account, out[i].With)
		if err != nil {
			return nil, err
		}
		if ok {
			out[i].Newest = m
		}
	}
	return out, nil
}

// NewestIncoming returns the newest incoming message with content of the
// one-to-one chat with peer.
func (s *Store) NewestIncoming(ctx context.Context, account, peer string) (*Message, bool, error) {
	account = Bare(account)
	var found *Message
	err := s.Messages(ctx, Filter{Account: account, Archive: account, With: []string{peer}, Content: true, Limit: 1,
		Direction: In}, func(m *Message) error {
		found = m
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return found, found != nil, nil
}

// ReadUntil returns the read point of the chat with peer (zero: never
// read), computed as Unread does.
func (s *Store) ReadUntil(ctx context.Context, account, peer string) (time.Time, error) {
	account = Bare(account)
	var ts sql.NullInt64
	err := s.db.QueryRowContext(ctx, readPoints+`SELECT ts FROM read WHERE with_jid = ?2`, account, Bare(peer)).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !ts.Valid) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("store: read point: %w", err)
	}
	return time.UnixMilli(ts.Int64).UTC(), nil
}
