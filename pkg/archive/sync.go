package archive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/mam"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// Options configure one archive sync.
type Options struct {
	Self     Self
	Room     string    // "" syncs the account's archive, else this room's
	With     string    // only the conversation with this JID
	Since    time.Time // on a first sync, start here instead of the oldest message
	PageSize int       // 0 = mam.DefaultPageSize
	Timeout  time.Duration
	// NoPipeline waits for each page's <fin/> before asking for the next.
	NoPipeline bool
	// Live, when set, is drained into the store between pages and at the
	// end: messages and carbons that arrive while the sync runs.
	Live conn.Subscription
	// Progress is called after each batch of pages is stored (batchPages)
	// with the results stored so far and the archive's size (-1 when the
	// server does not say).
	Progress func(done, total int)
	// Warn tells the user about recoverable trouble (a stale sync point).
	Warn func(format string, args ...any)
	// Decrypt, when set, decrypts end-to-end encrypted messages before
	// they are stored (outside the page's transaction).
	Decrypt Decrypter
	// Settle, when set, makes a sync that resumes after a stored sync
	// point first fetch again what the archive received in the Settle
	// before that point (settle.go). 0 trusts the archive's order.
	Settle time.Duration
}

// Summary is what a sync did.
type Summary struct {
	Archive    string `json:"archive"`
	New        int    `json:"new"`
	Duplicates int    `json:"duplicates"`
	Total      int    `json:"total"`
	LastID     string `json:"last_id"`
	Gap        bool   `json:"gap,omitempty"`
	Forged     int    `json:"forged,omitempty"`
}

// Filter is the sync point key of a filtered sync.
func (o Options) Filter() string {
	if o.With == "" {
		return ""
	}
	return "with=" + store.Bare(o.With)
}

// ArchiveJID is the archive the options select.
func (o Options) ArchiveJID() string {
	if o.Room != "" {
		return store.Bare(o.Room)
	}
	return store.Bare(o.Self.Account)
}

// Sync fetches everything the archive holds after the stored sync point
// (or since o.Since, or everything) and stores it, batchPages pages at a
// time, each batch in one transaction together with the new sync point.
func Sync(ctx context.Context, s conn.Session, st *store.Store, o Options) (Summary, error) {
	archiveJID := o.ArchiveJID()
	sum := Summary{Archive: archiveJID}
	point, _, err := st.GetSyncPoint(ctx, o.Self.Account, archiveJID, o.Filter())
	if err != nil {
		return sum, err
	}
	sum.LastID = point.LastID
	q := mam.Query{Archive: o.Room, With: o.With, Start: o.Since, After: point.LastID,
		PageSize: o.PageSize, Timeout: o.Timeout}
	if point.LastID != "" {
		q.Start = time.Time{}
	}
	if err := settle(ctx, s, st, o, point, &sum); err != nil {
		return sum, err
	}
	var gapAt time.Time
	for attempt := 0; ; attempt++ {
		err = walk(ctx, s, st, o, q, &point, &sum, gapAt)
		var me *mam.Error
		if attempt == 0 && q.After != "" && errors.As(err, &me) && me.Condition() == stanza.ItemNotFound {
			// The archive no longer has our last id: it expired or was
			// cleared. Start over from the oldest message it still has.
			if o.Warn != nil {
				o.Warn("the archive of %s no longer has the last synced message (id %s): it expired or was cleared; "+
					"syncing again from the oldest message available, there may be a gap before it", archiveJID, q.After)
			}
			sum.Gap = true
			gapAt = time.Now().UTC()
			q.After, q.Start = "", o.Since
			continue
		}
		break
	}
	if err == nil {
		err = drainLive(ctx, s, st, o, &sum, true)
	}
	if n, cerr := st.Count(ctx, o.Self.Account, archiveJID); cerr == nil {
		sum.Total = n
	}
	return sum, err
}

// batchPages is how many pages go into one transaction. A commit writes
// every page of the store's indexes that its messages touched, and an
// archive's stanza-ids are random: each commit of a 250-message page
// rewrote most of the stanza-id index. Four pages a commit cut a sync's
// client CPU by a tenth (paired runs, issue 16); the pages wait in memory,
// not in an open transaction, so no other xmppctl process waits for the
// network to write the store.
const batchPages = 4

// batch is what is fetched and not yet stored.
type batch struct {
	recs     []*store.Message
	pages    int
	results  int
	through  *mam.Result // the newest Page.Through among them
	complete bool
	count    int // the archive's size as the last page says it
}

func (b *batch) add(page mam.Page, recs []*store.Message) {
	b.recs = append(b.recs, recs...)
	b.pages++
	b.results += len(page.Results)
	if page.Through != nil {
		b.through = page.Through
	}
	b.complete = page.Fin.Complete
	b.count = page.Fin.Count
}

func walk(ctx context.Context, s conn.Session, st *store.Store, o Options, q mam.Query,
	point *store.SyncPoint, sum *Summary, gapAt time.Time) error {
	it := mam.NewIterator(s, q)
	if o.NoPipeline {
		it.DisablePipelining()
	} else {
		it.Converge(0)
	}
	defer func() { sum.Forged += it.Forged; it.Close() }()
	done, base := 0, -1
	var b batch
	save := func(ctx context.Context) error {
		if b.pages == 0 {
			return nil
		}
		err := st.Update(ctx, func(tx *store.Batch) error {
			if err := putAll(tx, b.recs, sum); err != nil {
				return err
			}
			// The sync point moves only over what is stored without a
			// gap (Page.Through): a page of a later walk of a converging
			// walk leaves it where the walks before it stand. Where all
			// walks have met it moves to the newest message.
			if t := b.through; t != nil {
				point.LastID, point.LastTime = t.ID, t.Stamp
			}
			point.Complete = b.complete
			point.GapAt = gapAt
			return tx.SetSyncPoint(*point)
		})
		if err != nil {
			return err
		}
		sum.LastID = point.LastID
		done += b.results
		if o.Progress != nil {
			d := done
			if b.count >= 0 {
				d = base + done
			}
			o.Progress(d, b.count)
		}
		b = batch{}
		return nil
	}
	for it.Next(ctx) {
		page := it.Page()
		if base < 0 {
			// Where the first page stands in the whole result set.
			base = max(page.Fin.Index, 0)
		}
		b.add(page, append(pageRecords(ctx, s, o, page), collectLive(ctx, s, o)...))
		if b.pages < batchPages && !page.Fin.Complete {
			continue
		}
		if err := save(ctx); err != nil {
			return err
		}
	}
	// What was fetched before the walk ended (a refusal, a lost
	// connection, the user's interrupt) is stored still, briefly past
	// the interrupt: a rerun would fetch it again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := save(sctx); err != nil {
		return errors.Join(it.Err(), err)
	}
	return it.Err()
}

// pageRecords makes the records of a page's results (decrypting them,
// which writes the store: before the page's transaction), leaving out
// forged and undecryptable ones.
func pageRecords(ctx context.Context, s conn.Session, o Options, page mam.Page) []*store.Message {
	var recs []*store.Message
	for _, r := range page.Results {
		rec, ok := FromResult(r, o.Self, o.ArchiveJID())
		if !decryptRecord(ctx, o.Decrypt, s, r.Message, rec, false, "") || !ok {
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// putAll stores recs, counting each as new or duplicate.
func putAll(b *store.Batch, recs []*store.Message, sum *Summary) error {
	for _, rec := range recs {
		if err := put(b, rec, sum); err != nil {
			return err
		}
	}
	return nil
}

func put(b *store.Batch, rec *store.Message, sum *Summary) error {
	res, err := b.Put(rec)
	if err != nil {
		return err
	}
	if res == store.Inserted {
		sum.New++
	} else {
		sum.Duplicates++
	}
	return nil
}

// collectLive takes what arrived live so far (account archive only: live
// room messages need a joined room, which a sync does not do), decrypted.
func collectLive(ctx context.Context, s conn.Session, o Options) []*store.Message {
	if o.Live == nil || o.Room != "" {
		return nil
	}
	var out []*store.Message
	for {
		st, ok := o.Live.Poll()
		if !ok {
			return out
		}
		m, ok := st.(*stanza.Message)
		if !ok {
			continue
		}
		rec, kind, inner := Incoming(m, o.Self)
		if !decryptRecord(ctx, o.Decrypt, s, inner, rec, kind != KindForged, "") {
			continue
		}
		if rec == nil || !strings.EqualFold(rec.Archive, o.ArchiveJID()) {
			continue
		}
		if o.With != "" && !strings.EqualFold(rec.With, store.Bare(o.With)) {
			continue
		}
		out = append(out, rec)
	}
}

// drainLive stores the live messages left at the end. With barrier set it
// first makes sure that everything the server sent before now has been
// queued (a ping round trip).
func drainLive(ctx context.Context, s conn.Session, st *store.Store, o Options, sum *Summary, barrier bool) error {
	if o.Live == nil || o.Room != "" {
		return nil
	}
	if barrier {
		fctx, cancel := ctx, context.CancelFunc(func() {})
		if o.Timeout > 0 {
			fctx, cancel = context.WithTimeout(ctx, o.Timeout)
		}
		err := s.Flush(fctx)
		cancel()
		if err != nil {
			return fmt.Errorf("archive sync: %w", err)
		}
	}
	live := collectLive(ctx, s, o)
	return st.Update(ctx, func(b *store.Batch) error { return putAll(b, live, sum) })
}

// Add returns s with the counts of an earlier attempt of the same sync
// (before a lost connection) added.
func (s Summary) Add(earlier Summary) Summary {
	s.New += earlier.New
	s.Duplicates += earlier.Duplicates
	s.Forged += earlier.Forged
	s.Gap = s.Gap || earlier.Gap
	return s
}
