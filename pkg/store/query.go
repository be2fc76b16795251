package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// GetSyncPoint returns the sync point of an archive; ok is false when it
// was never synced.
func (s *Store) GetSyncPoint(ctx context.Context, account, archive, filter string) (p SyncPoint, ok bool, err error) {
	var lastTS, gap int64
	var complete int
	err = s.db.QueryRowContext(ctx, `SELECT last_id, last_ts, complete, gap_at FROM sync_points
		WHERE account=? AND archive=? AND filter=?`, account, Bare(archive), filter).Scan(&p.LastID, &lastTS, &complete, &gap)
	if errors.Is(err, sql.ErrNoRows) {
		return SyncPoint{Account: account, Archive: Bare(archive), Filter: filter}, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("store: read sync point: %w", err)
	}
	p.Account, p.Archive, p.Filter, p.Complete = account, Bare(archive), filter, complete == 1
	if lastTS != 0 {
		p.LastTime = time.UnixMilli(lastTS).UTC()
	}
	if gap != 0 {
		p.GapAt = time.UnixMilli(gap).UTC()
	}
	return p, true, nil
}

// ReadState returns until when the chat with peer was read.
func (s *Store) ReadState(ctx context.Context, account, peer string) (time.Time, string, error) {
	var ts int64
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT read_ts, read_id FROM chats WHERE account=? AND with_jid=?`,
		account, Bare(peer)).Scan(&ts, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", fmt.Errorf("store: read state: %w", err)
	}
	return time.UnixMilli(ts).UTC(), id, nil
}

// Filter selects stored messages. Zero fields select everything.
type Filter struct {
	Account string
	Archive string   // one archive (account bare JID or room)
	With    []string // peers or rooms (bare JIDs); any of them
	Since   time.Time
	Until   time.Time
	Text    string // substring of body or subject, case-insensitive (ASCII)
	Limit   int    // the newest Limit messages (still printed oldest first)
	// Content limits the result to messages with a body, subject or OOB
	// URL (no bare receipts or markers).
	Content bool
	// Direction limits the result to In or Out messages ("" = both).
	Direction string
}

const columns = `account, archive, COALESCE(stanza_id, ''), origin_id, msg_id, from_jid, to_jid, with_jid, direction,
	type, ts, body, subject, thread, oob_url, receipt_for, marker, marker_for, replace_id, source,
	encrypted, sender_fp, trust, decrypt_error`

// Messages calls fn for each matching message, oldest first.
func (s *Store) Messages(ctx context.Context, f Filter, fn func(*Message) error) error {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Account != "" {
		add("account = ?", f.Account)
	}
	if f.Archive != "" {
		add("archive = ?", Bare(f.Archive))
	}
	if len(f.With) > 0 {
		ph := make([]string, len(f.With))
		for i, w := range f.With {
			ph[i] = "?"
			args = append(args, Bare(w))
		}
		where = append(where, "with_jid IN ("+strings.Join(ph, ",")+")")
	}
	if !f.Since.IsZero() {
		add("ts >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("ts <= ?", f.Until.UnixMilli())
	}
	if f.Text != "" {
		pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Text) + "%"
		add(`(body LIKE ? ESCAPE '\' OR subject LIKE ? ESCAPE '\')`, pat, pat)
	}
	if f.Content {
		add("(body != '' OR subject != '' OR oob_url != '' OR decrypt_error != '')")
	}
	if f.Direction != "" {
		add("direction = ?", f.Direction)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	q := "SELECT " + columns + " FROM messages" + cond + " ORDER BY ts, pk"
	if f.Limit > 0 {
		q = "SELECT " + columns + " FROM (SELECT * FROM messages" + cond +
			" ORDER BY ts DESC, pk DESC LIMIT ?) ORDER BY ts, pk"
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Message
		var ts int64
		if err := rows.Scan(&m.Account, &m.Archive, &m.StanzaID, &m.OriginID, &m.MsgID, &m.From, &m.To, &m.With,
			&m.Direction, &m.Type, &ts, &m.Body, &m.Subject, &m.Thread, &m.OOB, &m.ReceiptFor, &m.Marker,
			&m.MarkerFor, &m.Replace, &m.Source, &m.Encrypted, &m.SenderFP, &m.Trust, &m.DecryptError); err != nil {
			return fmt.Errorf("store: read: %w", err)
		}
		m.Time = time.UnixMilli(ts).UTC()
		if err := fn(&m); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Count returns how many messages an archive holds locally.
func (s *Store) Count(ctx context.Context, account, archive string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE arch = (SELECT id FROM archives WHERE account=? AND archive=?)`,
		account, Bare(archive)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count: %w", err)
	}
	return n, nil
}
