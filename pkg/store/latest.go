package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Latest returns the stanza-id and time of the newest stored message of an
// archive that has a stanza-id ("" and zero when none): where a catch-up
// resumes, and from when it restarts if the archive lost that id.
func (s *Store) Latest(ctx context.Context, account, archive string) (string, time.Time, error) {
	var id string
	var ts int64
	err := s.db.QueryRowContext(ctx, `SELECT stanza_id, ts FROM messages WHERE account=? AND archive=? AND stanza_id IS NOT NULL
		ORDER BY ts DESC, pk DESC LIMIT 1`, Bare(account), Bare(archive)).Scan(&id, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store: latest: %w", err)
	}
	return id, time.UnixMilli(ts).UTC(), nil
}
