package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// flaky is a session with stream management that the test breaks: after
// dieAfter writes every write and Flush fail as a lost connection; the
// server has acknowledged the first acked writes.
type flaky struct {
	*xmpptest.Session
	dieAfter int
	acked    uint64
	writes   uint64
	dead     bool
	ids      *[]string // ids of every message written, across sessions
}

var errLost = &conn.ConnectError{Lost: true, Err: errors.New("eof")}

func (f *flaky) SendSeq(ctx context.Context, v any) (uint64, error) {
	if f.dead || int(f.writes) >= f.dieAfter {
		f.dead = true
		return 0, errLost
	}
	f.writes++
	*f.ids = append(*f.ids, v.(*stanza.Message).ID)
	return f.writes, f.Session.Send(ctx, v)
}

func (f *flaky) Acked() (uint64, bool) { return min(f.acked, f.writes), true }

func (f *flaky) Flush(ctx context.Context) error {
	if f.dead {
		return errLost
	}
	f.acked = f.writes
	return nil
}

func TestReconnectResendsUnacknowledgedWithSameIDs(t *testing.T) {
	var ids []string
	// Session 1 dies at its 5th write having acknowledged 2; session 2 works.
	s1 := &flaky{Session: xmpptest.New(), dieAfter: 4, acked: 2, ids: &ids}
	s2 := &flaky{Session: xmpptest.New(), dieAfter: 1 << 30, ids: &ids}
	dials := 0
	var results []Result
	o := New(s1, false)
	o.OnSettled = func(r Result) { results = append(results, r) }
	o.Reconnect = &Reconnect{Retries: 2, Backoff: func(int) time.Duration { return 0 },
		Dial: func(context.Context) (conn.Session, error) { dials++; return s2, nil }}
	ctx := context.Background()
	var sent []string
	for i := range 6 {
		id, err := o.Send(ctx, "bob@example.org", Content{Type: stanza.ChatMessage, Body: fmt.Sprint(i)})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		sent = append(sent, id)
	}
	if _, err := o.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if dials != 1 {
		t.Errorf("%d reconnections, want 1", dials)
	}
	// Written: 0-3 on s1 (0,1 acknowledged), then 2,3,4 resent on s2, then 5.
	want := []string{sent[0], sent[1], sent[2], sent[3], sent[2], sent[3], sent[4], sent[5]}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("written ids\n%v, want\n%v", ids, want)
	}
	if len(results) != 6 {
		t.Fatalf("%d results, want 6", len(results))
	}
	for _, r := range results {
		if r.Status != StatusSent {
			t.Errorf("%s: %s, want sent", r.ID, r.Status)
		}
	}
}

func TestRetriesRunOutUnknownAndFailed(t *testing.T) {
	var ids []string
	s1 := &flaky{Session: xmpptest.New(), dieAfter: 2, ids: &ids}
	var results []Result
	o := New(s1, false)
	o.OnSettled = func(r Result) { results = append(results, r) }
	o.Reconnect = &Reconnect{Retries: 1, Backoff: func(int) time.Duration { return 0 },
		Dial: func(context.Context) (conn.Session, error) { return nil, errLost }}
	ctx := context.Background()
	var err error
	for i := 0; i < 3 && err == nil; i++ {
		_, err = o.Send(ctx, "bob@example.org", Content{Type: stanza.ChatMessage, Body: fmt.Sprint(i)})
	}
	if !Lost(err) {
		t.Fatalf("err %v, want the lost connection", err)
	}
	got := map[string]int{}
	for _, r := range results {
		got[r.Status]++
	}
	// Two were written and never acknowledged: unknown; the third never went out: failed.
	if got[StatusUnknown] != 2 || got[StatusFailed] != 1 || len(results) != 3 {
		t.Errorf("statuses %v, want 2 unknown and 1 failed", got)
	}
}

func TestTooLargeAloneFailsWithoutReconnecting(t *testing.T) {
	var ids []string
	big := &conn.ConnectError{Lost: true, Condition: conn.PolicyViolation, Err: errors.New("stream error: XML stanza is too big")}
	s1 := &tooBig{flaky: &flaky{Session: xmpptest.New(), dieAfter: 1 << 30, ids: &ids}, err: big}
	var results []Result
	o := New(s1, false)
	o.OnSettled = func(r Result) { results = append(results, r) }
	o.Reconnect = &Reconnect{Retries: 1, Dial: func(context.Context) (conn.Session, error) {
		t.Error("reconnected although nothing was left to send")
		return nil, errLost
	}}
	ctx := context.Background()
	if _, err := o.Send(ctx, "bob@example.org", Content{Type: stanza.ChatMessage, Body: "huge"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Status != StatusFailed {
		t.Fatalf("results %+v, want one failed", results)
	}
}

// tooBig is a session the server closed over a stanza's size.
type tooBig struct {
	*flaky
	err error
}

func (s *tooBig) Flush(context.Context) error { return s.err }
