package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// FileName is the store's file in the data directory.
const FileName = "xmppctl.db"

// Store is an open local store.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens (creating and migrating as needed) the store in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// cacheKiB is the page cache of a store's connection (see OpenFile).
const cacheKiB = 1000

// OpenFile opens the store at path.
func OpenFile(ctx context.Context, path string) (*Store, error) {
	// busy_timeout makes a writer wait for another process's transaction
	// instead of failing; _txlock=immediate takes the write lock at BEGIN so
	// that two writers never deadlock upgrading read locks.
	if err := private(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// cache_size is SQLite's page cache, 2,000 KiB by default. Each page
	// of it is one allocation of the page and its header (4,096 + ~250
	// bytes), which modernc's allocator serves from a power-of-two slot
	// of 8 KiB: the default cache held ~2.8 MiB of a sync's peak RSS
	// (page faults by caller). With 1,000 KiB a sync of 10,000 messages
	// peaks 2.0 MiB lower. The price: a sync's transaction (4 pages of
	// 250 messages) dirties more pages than that cache holds (the
	// stanza-id and origin-id indexes are keyed by random ids), so SQLite
	// spills some to the WAL before the commit and reads them back: 8,534
	// pwrite and 3,485 pread calls instead of 6,788 and 1,533, 1.07–1.11
	// of the CPU (issue 16); schema 5's narrower origin-id index took most
	// of that back.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=cache_size(-" + strconv.Itoa(cacheKiB) + ")&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one connection: SQLite serialises writers anyway
	s := &Store{db: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// private makes the database file exist with mode 0600 before SQLite
// opens it. SQLite creates its -wal and -shm files (message bodies) with
// the database file's mode, so they are private too; those left by an
// older xmppctl, which created the database with the umask's mode, are
// fixed here as well.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Version returns the schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// ErrTooNew reports a store written by a newer xmppctl.
var ErrTooNew = errors.New("the store was written by a newer xmppctl")

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (schema %d, this one knows %d)", ErrTooNew, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if migrations[i] != "" {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migrate schema to %d: %w", i+1, err)
			}
		}
		if f := goMigrations[i+1]; f != nil {
			if err := f(ctx, tx); err != nil {
				return fmt.Errorf("migrate schema to %d: %w", i+1, err)
			}
		}
	}
	if v == len(migrations) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}

// Message is one stored message.
type Message struct {
	Account    string    `json:"-"`
	Archive    string    `json:"archive"`
	StanzaID   string    `json:"id,omitempty"` // the archive's stanza-id
	OriginID   string    `json:"origin_id,omitempty"`
	MsgID      string    `json:"message_id,omitempty"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	With       string    `json:"with"`
	Direction  string    `json:"direction"` // "in" or "out"
	Type       string    `json:"type"`
	Time       time.Time `json:"timestamp"`
	Body       string    `json:"body"`
	Subject    string    `json:"subject,omitempty"`
	Thread     string    `json:"thread,omitempty"`
	OOB        string    `json:"oob_url,omitempty"`
	ReceiptFor string    `json:"receipt_for,omitempty"`
	Marker     string    `json:"marker,omitempty"`
	MarkerFor  string    `json:"marker_for,omitempty"`
	Replace    string    `json:"replace_id,omitempty"`
	Source     string    `json:"source,omitempty"` // mam, carbon, live, sent
	// Encrypted is the end-to-end encryption the message arrived (or was
	// sent) under: "" for none, else its namespace (OMEMO 0.3 is
	// eu.siacs.conversations.axolotl). Body is then the plaintext, or
	// empty when DecryptError says why it could not be read.
	Encrypted    string `json:"encrypted,omitempty"`
	SenderFP     string `json:"sender_fingerprint,omitempty"`
	Trust        string `json:"trust,omitempty"`
	DecryptError string `json:"decrypt_error,omitempty"`
}

// Directions.
const (
	In  = "in"
	Out = "out"
)

// IDKey is the id a message is known by when it has no stanza-id: its
// origin-id (XEP-0359), else its stanza id attribute.
func (m *Message) IDKey() string {
	if m.OriginID != "" {
		return m.OriginID
	}
	return m.MsgID
}

// fromKey identifies the sender for de-duplication: the occupant JID in a
// room, the bare JID otherwise (a message's resource differs between its
// live copy and its archived copy only in pathological cases, but its
// recipient's may: live copies carry our full JID).
func (m *Message) fromKey() string {
	if m.Type == string(stanza.GroupChatMessage) {
		return strings.ToLower(m.From)
	}
	return Bare(m.From)
}

// Bare returns the key the store files a JID under: its normalised bare
// JID (stanza.BareJID). Stores written before that normalisation are
// brought to it by migration 3.
func Bare(j string) string { return stanza.BareJID(j) }

func toCompatible(a, b, typ string) bool {
	if typ == string(stanza.GroupChatMessage) || a == "" || b == "" {
		return true
	}
	return Bare(a) == Bare(b)
}
