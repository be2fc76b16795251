package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"
)

// putReference is Put's path for an archived message before issue 16: a
// SELECT by stanza-id, then the INSERT. BenchmarkPutPage runs it as the
// reference.
func (b *Batch) putReference(m *Message) (PutResult, error) {
	st, err := b.stmt(qByStanzaID)
	if err != nil {
		return 0, err
	}
	a, err := b.archive(m.Account, m.Archive)
	if err != nil {
		return 0, err
	}
	arch := a.id
	var pk int64
	err = st.QueryRowContext(b.ctx, arch, m.StanzaID).Scan(&pk)
	switch {
	case err == nil:
		return Duplicate, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, err
	}
	if _, err := b.insert(false, arch, m); err != nil {
		return 0, err
	}
	return Inserted, nil
}

// putFullWidth is Put's path for an archived message before the narrow
// INSERT (insertCols): all 26 columns bound, the empty ones too.
func (b *Batch) putFullWidth(m *Message) (PutResult, error) {
	a, err := b.archive(m.Account, m.Archive)
	if err != nil {
		return 0, err
	}
	arch := a.id
	st, err := b.stmt(`INSERT INTO messages (arch, account, archive, stanza_id, origin_id, msg_id, id_key,
		from_jid, from_key, to_jid, with_jid, direction, type, ts, body, subject, thread, oob_url, receipt_for,
		marker, marker_for, replace_id, source, encrypted, sender_fp, trust, decrypt_error)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)` + onConflict)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(b.ctx, arch,
		m.Account, m.Archive, m.StanzaID, m.OriginID, m.MsgID, m.IDKey(), m.From, m.fromKey(), m.To, Bare(m.With),
		m.Direction, m.Type, m.Time.UnixMilli(), m.Body, m.Subject, m.Thread, m.OOB, m.ReceiptFor, m.Marker,
		m.MarkerFor, m.Replace, m.Source, m.Encrypted, m.SenderFP, m.Trust, m.DecryptError)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Duplicate, nil
	}
	return Inserted, nil
}

// putWith is Put with the statements run under ctx.
func (b *Batch) putWith(ctx context.Context, m *Message) (PutResult, error) {
	plain := b.ctx
	b.ctx = ctx
	defer func() { b.ctx = plain }()
	return b.Put(m)
}

// BenchmarkPutPage: storing one sync page (250 archived messages, one
// transaction) into a store that already holds 2,500, against the
// references in the same run (go test -bench PutPage ./pkg/store). The
// context can be cancelled, as a sync's is.
func BenchmarkPutPage(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bm := range []struct {
		name string
		put  func(*Batch, *Message) (PutResult, error)
	}{{"Put", (*Batch).Put}, {"reference-full-width-insert", (*Batch).putFullWidth},
		{"reference-select-then-insert", (*Batch).putReference},
		// Statements run under the Update's own cancellable context, as
		// before Update dropped its cancellation: the driver then starts
		// a goroutine per statement to interrupt it.
		{"reference-cancellable-statements", func(bt *Batch, m *Message) (PutResult, error) { return bt.putWith(ctx, m) }}} {
		b.Run(bm.name, func(b *testing.B) {
			st, err := Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			n := 0
			page := func() {
				err := st.Update(ctx, func(bt *Batch) error {
					for range 250 {
						n++
						m := Message{Account: "alice@localhost", Archive: "alice@localhost",
							StanzaID: fmt.Sprintf("%08x-2f0c-4b1e-9d7a-%012d", n*2654435761%(1<<32), n),
							OriginID: fmt.Sprintf("o%x", n*40503), MsgID: fmt.Sprintf("o%x", n*40503),
							From: "bob@localhost/res", To: "alice@localhost", With: "bob@localhost", Direction: In,
							Type: "chat", Time: time.Unix(int64(n), 0), Body: fmt.Sprintf("archived message %05d", n), Source: "mam"}
						if res, err := bm.put(bt, &m); err != nil || res != Inserted {
							return fmt.Errorf("put: %v %v", res, err)
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			for range 10 {
				page()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				page()
			}
		})
	}
}
