package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Batch is one transaction of writes.
type Batch struct {
	tx *sql.Tx
	// ctx is the context of the Update call the batch lives in, without
	// its cancellation (see Update): a Batch never outlives that call.
	ctx   context.Context
	stmts map[string]*sql.Stmt
	// archs caches, per (account, archive) as given to Put, their keys
	// (Bare) and the archive's id: a sync puts thousands of messages to
	// one archive.
	archs map[[2]string]archiveKeys
	// unidentified caches, per archive id, whether rows without stanza-id
	// exist: when none do, an archived message can only match by its
	// stanza-id, and the fallback lookup is skipped (the common case of a
	// sync, and most of its cost).
	unidentified map[int64]bool
}

// stmt prepares q once per batch: preparing costs more than running the
// statement, and a sync page puts hundreds of messages.
func (b *Batch) stmt(q string) (*sql.Stmt, error) {
	if st, ok := b.stmts[q]; ok {
		return st, nil
	}
	st, err := b.tx.PrepareContext(b.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	if b.stmts == nil {
		b.stmts = map[string]*sql.Stmt{}
	}
	b.stmts[q] = st
	return st, nil
}

const (
	qArchID       = `SELECT id FROM archives WHERE account=? AND archive=?`
	qNewArch      = `INSERT INTO archives (account, archive) VALUES (?, ?) RETURNING id`
	qUnidentified = `SELECT EXISTS (SELECT 1 FROM messages WHERE arch=? AND stanza_id IS NULL)`
	qByStanzaID   = `SELECT pk FROM messages WHERE arch=? AND stanza_id=?`
	// The "id_key != ''" term lets SQLite use the partial index (it
	// cannot prove it from "?").
	qByIDKey = `SELECT pk, stanza_id, to_jid, from_key, direction FROM messages
		WHERE arch=? AND id_key=? AND from_key=? AND id_key != ''`
	// In a room our own message is recorded at send time from our full
	// JID (or the nick we joined with) and comes back from room/nick: the
	// sender key cannot match, so room copies are looked up by id alone
	// and matched below on the direction both copies agree on.
	qByIDKeyRoom = `SELECT pk, stanza_id, to_jid, from_key, direction FROM messages
		WHERE arch=? AND id_key=? AND id_key != ''`
	// An insert binds the columns every message has (insertCols) and,
	// of the others (optCols), only those set: an archived chat message
	// then binds 15 values instead of 26, and binding was a fifth of an
	// insert's cost. The columns left out default to ''.
	insertCols = `arch, account, archive, stanza_id, origin_id, msg_id, id_key,
		from_jid, from_key, to_jid, with_jid, direction, type, ts, body, source`
	nInsertCols = 16
	onConflict  = ` ON CONFLICT (arch, stanza_id) DO NOTHING`
)

// Update runs fn in one transaction: everything fn wrote is committed
// together, or nothing when fn fails.
func (s *Store) Update(ctx context.Context, fn func(b *Batch) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	// The statements run without ctx's cancellation: for every statement
	// run with a context that can end, the driver starts a goroutine to
	// interrupt it, and for an archive sync's thousands of one-row
	// inserts those goroutines cost 6% of the client's CPU (issue 16).
	// Cancellation still ends the batch: the sql.Tx watches ctx and rolls
	// back once it ends, after which every statement fails (ErrTxDone),
	// and a statement of a batch takes microseconds.
	b := &Batch{tx: tx, ctx: context.WithoutCancel(ctx)}
	defer func() {
		for _, st := range b.stmts {
			st.Close()
		}
	}()
	if err := fn(b); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// The transaction ended with ctx, at any point of fn: its
			// statements then fail with whatever database/sql says of a
			// closed one ("statement is closed", ErrTxDone). Say why.
			return fmt.Errorf("%w: %w", cerr, err) // err says "store: ..."
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("store: commit: %w: %w", cerr, err)
		}
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Tx is the batch's transaction, for packages that keep their own tables
// in the store (pkg/omemo) and must write them atomically with it.
func (b *Batch) Tx() *sql.Tx { return b.tx }

// PutResult says what Put did.
type PutResult int

// Put outcomes.
const (
	Inserted  PutResult = iota // a new message
	Duplicate                  // already stored; nothing changed
	Merged                     // already stored without stanza-id; the archive's id was added
)

// Put stores m unless it is already there. A message is the same as a
// stored one when both have the same stanza-id in the same archive, or,
// when either has none, the same origin-id (else message id), the same
// sender and compatible recipients. A stored copy without stanza-id (what
// we sent, or a carbon) gets the archive's id and timestamp when the
// archived copy arrives.
func (b *Batch) Put(msg *Message) (PutResult, error) {
	m := *msg
	a, err := b.archive(m.Account, m.Archive)
	if err != nil {
		return 0, err
	}
	m.Account, m.Archive = a.account, a.archive
	arch := a.id
	if m.StanzaID != "" && m.IDKey() != "" {
		unidentified, err := b.hasUnidentified(arch)
		if err != nil {
			return 0, err
		}
		if !unidentified {
			return b.insertNew(arch, &m)
		}
	} else if m.StanzaID != "" {
		return b.insertNew(arch, &m)
	}
	if m.StanzaID != "" {
		st, err := b.stmt(qByStanzaID)
		if err != nil {
			return 0, err
		}
		var pk int64
		err = st.QueryRowContext(b.ctx, arch, m.StanzaID).Scan(&pk)
		switch {
		case err == nil:
			return Duplicate, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("store: look up %s: %w", m.StanzaID, err)
		}
	}
	if key := m.IDKey(); key != "" {
		need := m.StanzaID == ""
		if !need {
			var err error
			if need, err = b.hasUnidentified(arch); err != nil {
				return 0, err
			}
		}
		if need {
			res, err := b.mergeByID(arch, &m, key)
			if err != nil || res != Inserted {
				return res, err
			}
		}
	}
	if _, err := b.insert(false, arch, &m); err != nil {
		return 0, err
	}
	if m.StanzaID == "" && b.unidentified != nil {
		b.unidentified[arch] = true
	}
	return Inserted, nil
}

// insertNew stores an archived message (it has a stanza-id) when no
// stored row lacks one: then only its stanza-id can make it a duplicate,
// and the insert's own unique-index lookup finds that (ON CONFLICT DO
// NOTHING), instead of a SELECT by stanza-id before every insert: the
// common case of a sync, where that lookup was a quarter of the store's
// time.
func (b *Batch) insertNew(arch int64, m *Message) (PutResult, error) {
	n, err := b.insert(true, arch, m)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return Duplicate, nil
	}
	return Inserted, nil
}

// optCols are the columns bound only when set (see insertCols).
var optCols = [...]string{"subject", "thread", "oob_url", "receipt_for", "marker", "marker_for",
	"replace_id", "encrypted", "sender_fp", "trust", "decrypt_error"}

func optValues(m *Message) [len(optCols)]string {
	return [...]string{m.Subject, m.Thread, m.OOB, m.ReceiptFor, m.Marker, m.MarkerFor,
		m.Replace, m.Encrypted, m.SenderFP, m.Trust, m.DecryptError}
}

// insertSQL caches the INSERT statement per set of optional columns (a
// bit each) and conflict clause (bit len(optCols)).
var insertSQL sync.Map

func insertQuery(key uint32) string {
	if q, ok := insertSQL.Load(key); ok {
		return q.(string)
	}
	var cols, vals strings.Builder
	cols.WriteString(insertCols)
	vals.WriteString(strings.Repeat("?,", nInsertCols-1) + "?")
	for i, c := range optCols {
		if key&(1<<i) != 0 {
			cols.WriteString(", " + c)
			vals.WriteString(",?")
		}
	}
	q := "INSERT INTO messages (" + cols.String() + ") VALUES (" + vals.String() + ")"
	if key&(1<<len(optCols)) != 0 {
		q += onConflict
	}
	insertSQL.Store(key, q)
	return q
}

// insert stores m in the archive arch, with newOnly skipping it when its
// stanza-id is already stored (ON CONFLICT DO NOTHING); it returns the
// rows added.
func (b *Batch) insert(newOnly bool, arch int64, m *Message) (int64, error) {
	var sid any
	if m.StanzaID != "" {
		sid = m.StanzaID
	}
	args := make([]any, 0, nInsertCols+len(optCols))
	args = append(args, arch, m.Account, m.Archive, sid, m.OriginID, m.MsgID, m.IDKey(), m.From, m.fromKey(), m.To, Bare(m.With),
		m.Direction, m.Type, m.Time.UnixMilli(), m.Body, m.Source)
	var key uint32
	for i, v := range optValues(m) {
		if v != "" {
			key |= 1 << i
			args = append(args, v)
		}
	}
	if newOnly {
		key |= 1 << len(optCols)
	}
	ins, err := b.stmt(insertQuery(key))
	if err != nil {
		return 0, err
	}
	res, err := ins.ExecContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("store: insert: %w", err)
	}
	return res.RowsAffected()
}

func (b *Batch) hasUnidentified(arch int64) (bool, error) {
	if v, ok := b.unidentified[arch]; ok {
		return v, nil
	}
	st, err := b.stmt(qUnidentified)
	if err != nil {
		return false, err
	}
	var v bool
	if err := st.QueryRowContext(b.ctx, arch).Scan(&v); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if b.unidentified == nil {
		b.unidentified = map[int64]bool{}
	}
	b.unidentified[arch] = v
	return v, nil
}

// archiveKeys are an archive's keys and id.
type archiveKeys struct {
	account, archive string
	id               int64
}

// archive returns the keys and the id of the archive (account,
// archive), adding it to the archives table the first time.
func (b *Batch) archive(account, archiveJID string) (archiveKeys, error) {
	k := [2]string{account, archiveJID}
	if a, ok := b.archs[k]; ok {
		return a, nil
	}
	a := archiveKeys{account: Bare(account), archive: Bare(archiveJID)}
	err := b.tx.QueryRowContext(b.ctx, qArchID, a.account, a.archive).Scan(&a.id)
	if errors.Is(err, sql.ErrNoRows) {
		err = b.tx.QueryRowContext(b.ctx, qNewArch, a.account, a.archive).Scan(&a.id)
	}
	if err != nil {
		return archiveKeys{}, fmt.Errorf("store: archive %s of %s: %w", a.archive, a.account, err)
	}
	if b.archs == nil {
		b.archs = map[[2]string]archiveKeys{}
	}
	b.archs[k] = a
	return a, nil
}

// mergeByID finds a stored copy by the fallback identity. It returns
// Inserted when there is none (the caller inserts).
func (b *Batch) mergeByID(arch int64, m *Message, key string) (PutResult, error) {
	q, args := qByIDKey, []any{arch, key, m.fromKey()}
	if m.Type == string(stanza.GroupChatMessage) {
		q, args = qByIDKeyRoom, args[:2]
	}
	st, err := b.stmt(q)
	if err != nil {
		return 0, err
	}
	rows, err := st.QueryContext(b.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("store: look up %s: %w", key, err)
	}
	type cand struct {
		pk       int64
		sid      sql.NullString
		to, from string
		dir      string
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.pk, &c.sid, &c.to, &c.from, &c.dir); err != nil {
			rows.Close()
			return 0, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, c := range cands {
		if c.sid.Valid && m.StanzaID != "" {
			continue // both archived under different ids: different messages
		}
		if !toCompatible(c.to, m.To, m.Type) {
			continue
		}
		if c.from != m.fromKey() && (c.dir != Out || m.Direction != Out) {
			// A room copy from another occupant reusing our origin-id
			// is a different message.
			continue
		}
		if !c.sid.Valid && m.StanzaID != "" {
			// The archived copy of something we stored first: adopt the
			// archive's id and time (the archive's clock orders the chat).
			_, err := b.tx.ExecContext(b.ctx, `UPDATE messages SET stanza_id=?, ts=?, to_jid=CASE WHEN to_jid='' THEN ? ELSE to_jid END WHERE pk=?`,
				m.StanzaID, m.Time.UnixMilli(), m.To, c.pk)
			if err != nil {
				return 0, fmt.Errorf("store: merge %s: %w", key, err)
			}
			return Merged, nil
		}
		return Duplicate, nil
	}
	return Inserted, nil
}

// SyncPoint is where the sync of one archive stands.
type SyncPoint struct {
	Account  string
	Archive  string // archive JID (the account's bare JID or a room)
	Filter   string // "" for the whole archive, else e.g. "with=bob@example.org"
	LastID   string
	LastTime time.Time
	Complete bool      // the last sync reached the end of the archive
	GapAt    time.Time // when a gap was detected (stale id, archive expired); zero if none
}

// SetSyncPoint records where the sync of an archive stands.
func (b *Batch) SetSyncPoint(p SyncPoint) error {
	var gap int64
	if !p.GapAt.IsZero() {
		gap = p.GapAt.UnixMilli()
	}
	complete := 0
	if p.Complete {
		complete = 1
	}
	_, err := b.tx.ExecContext(b.ctx, `INSERT INTO sync_points (account, archive, filter, last_id, last_ts, complete, gap_at, updated)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(account, archive, filter) DO UPDATE SET last_id=excluded.last_id,
		last_ts=excluded.last_ts, complete=excluded.complete, gap_at=MAX(gap_at, excluded.gap_at), updated=excluded.updated`,
		p.Account, Bare(p.Archive), p.Filter, p.LastID, p.LastTime.UnixMilli(), complete, gap, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("store: save sync point: %w", err)
	}
	return nil
}

// MarkRead records that the chat with peer was read up to t (and the
// message id, if known). Read state only moves forwards.
func (b *Batch) MarkRead(account, peer string, t time.Time, id string) error {
	_, err := b.tx.ExecContext(b.ctx, `INSERT INTO chats (account, with_jid, read_ts, read_id) VALUES (?,?,?,?)
		ON CONFLICT(account, with_jid) DO UPDATE SET read_ts=excluded.read_ts, read_id=excluded.read_id
		WHERE excluded.read_ts >= chats.read_ts`, account, Bare(peer), t.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	return nil
}
