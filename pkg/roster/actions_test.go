package roster

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

func TestActions(t *testing.T) {
	st := State{
		Items: []Item{
			{JID: "both@example.org", Subscription: Both},
			{JID: "to@example.org", Subscription: To},
			{JID: "from@example.org", Subscription: From},
			{JID: "none@example.org", Subscription: None},
		},
		Pending: []Request{{JID: "asker@example.org"}, {JID: "none@example.org"}},
	}
	ctx := context.Background()
	outcomes := func(rs []Result) string {
		var b []string
		for _, r := range rs {
			b = append(b, r.JID+"="+string(r.Outcome))
		}
		return strings.Join(b, " ")
	}
	presences := func(s *xmpptest.Session) string {
		var b []string
		for _, x := range s.Sent() {
			if strings.HasPrefix(x, "<presence") {
				to := x[strings.Index(x, `to="`)+4:]
				typ := x[strings.Index(x, `type="`)+6:]
				b = append(b, to[:strings.IndexByte(to, '"')]+":"+typ[:strings.IndexByte(typ, '"')])
			}
		}
		return strings.Join(b, " ")
	}

	tests := []struct {
		name           string
		preApproval    bool
		run            func(s *xmpptest.Session, st State) ([]Result, error)
		want, wantSent string
	}{
		{"approve", false, func(s *xmpptest.Session, st State) ([]Result, error) {
			return Approve(ctx, s, s.Subscribe(), st, []string{"asker@example.org", "from@example.org", "stranger@example.org"})
		}, "asker@example.org=approved from@example.org=already-approved stranger@example.org=failed", "asker@example.org:subscribed"},
		{"approve with pre-approval", true, func(s *xmpptest.Session, st State) ([]Result, error) {
			return Approve(ctx, s, s.Subscribe(), st, []string{"stranger@example.org"})
		}, "stranger@example.org=pre-approved", "stranger@example.org:subscribed"},
		{"deny", false, func(s *xmpptest.Session, st State) ([]Result, error) {
			return Deny(ctx, s, s.Subscribe(), st, []string{"none@example.org", "both@example.org", "to@example.org"})
		}, "none@example.org=denied both@example.org=revoked to@example.org=not-pending", "none@example.org:unsubscribed both@example.org:unsubscribed"},
		{"subscribe", false, func(s *xmpptest.Session, st State) ([]Result, error) {
			return Subscribe(ctx, s, s.Subscribe(), st, []string{"to@example.org", "from@example.org"})
		}, "to@example.org=already-subscribed from@example.org=requested", "from@example.org:subscribe"},
		{"add", false, func(s *xmpptest.Session, st State) ([]Result, error) {
			name := "New"
			r1, err := Add(ctx, s, s.Subscribe(), st, "new@example.org", &name, []string{"G"}, true)
			if err != nil {
				return nil, err
			}
			r2, err := Add(ctx, s, s.Subscribe(), st, "both@example.org", nil, nil, true)
			if r2.Subscribe != AlreadySubscribed || r1.Subscribe != Requested {
				t.Errorf("subscribe outcomes %q %q", r1.Subscribe, r2.Subscribe)
			}
			return []Result{r1, r2}, err
		}, "new@example.org=added both@example.org=updated", "new@example.org:subscribe"},
		{"remove", false, func(s *xmpptest.Session, st State) ([]Result, error) {
			r1, err := Remove(ctx, s, st, "none@example.org")
			if err != nil {
				return nil, err
			}
			r2, err := Remove(ctx, s, st, "ghost@example.org")
			return []Result{r1, r2}, err
		}, "none@example.org=removed ghost@example.org=not-in-roster", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := xmpptest.New()
			st := st
			st.PreApproval = tt.preApproval
			res, err := tt.run(s, st)
			if err != nil {
				t.Fatal(err)
			}
			if got := outcomes(res); got != tt.want {
				t.Errorf("outcomes %s\nwant     %s", got, tt.want)
			}
			if got := presences(s); got != tt.wantSent {
				t.Errorf("sent %q, want %q", got, tt.wantSent)
			}
		})
	}
}

// TestRefusalFails: a presence error from the contact after the flush
// turns that JID's outcome into a failure carrying the condition.
func TestRefusalFails(t *testing.T) {
	s := xmpptest.New()
	s.OnSend = func(v any) []stanza.Stanza {
		if p, ok := v.(stanza.Presence); ok && p.To == "gone@example.net" {
			return []stanza.Stanza{&stanza.Presence{Type: stanza.ErrorPresence, From: p.To, Error: &stanza.Error{Condition: "remote-server-not-found"}}}
		}
		return nil
	}
	res, err := Subscribe(context.Background(), s, s.Subscribe(), State{}, []string{"gone@example.net", "ok@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	var se *stanza.Error
	if res[0].Outcome != Failed || !errors.As(res[0].Err, &se) || se.Condition != "remote-server-not-found" || res[1].Outcome != Requested {
		t.Errorf("results %+v", res)
	}
}
