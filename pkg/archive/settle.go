package archive

import (
	"context"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// DefaultSettle is the window a resumed sync fetches again before its
// sync point (Options.Settle).
const DefaultSettle = 30 * time.Second

// An archive may make a message visible after a later one: ejabberd
// numbers messages by the time it received them, and under load one
// committed after a query that already returned a later id (seen in the
// e2e suite: during traffic, "during-b2a-0-6" received at .433 was not
// there when a query returned the one received at .609, and every later
// query "after" that id skipped it). A sync point on the later message
// would then lose the earlier one for good. So a sync that resumes first
// asks again for what the archive received in the Settle before its point
// (a time-filtered query), storing what it had missed; the rest are
// duplicates, which the store recognises. It assumes no message becomes
// visible later than Settle after it was received.
func settle(ctx context.Context, s conn.Session, st *store.Store, o Options, point store.SyncPoint, sum *Summary) error {
	if o.Settle <= 0 || point.LastID == "" || point.LastTime.IsZero() {
		return nil
	}
	q := SettleWindow(mam.Query{Archive: o.Room, With: o.With, PageSize: o.PageSize, Timeout: o.Timeout},
		point.LastTime, o.Settle)
	it := mam.NewIterator(s, q)
	it.DisablePipelining()
	defer func() { sum.Forged += it.Forged; it.Close() }()
	for it.Next(ctx) {
		recs := pageRecords(ctx, s, o, it.Page())
		if err := st.Update(ctx, func(b *store.Batch) error { return putAll(b, recs, sum) }); err != nil {
			return err
		}
	}
	return it.Err()
}

// SettleWindow is q (its archive and filters) limited to what the archive
// received in the d before at, the time of the point a walk resumes after
// (archive sync's, listen's catch-up after a reconnection). The query's
// times have whole seconds: it is rounded outwards.
func SettleWindow(q mam.Query, at time.Time, d time.Duration) mam.Query {
	q.After = ""
	q.Start = at.Add(-d).Truncate(time.Second)
	q.End = at.Truncate(time.Second).Add(time.Second)
	return q
}
