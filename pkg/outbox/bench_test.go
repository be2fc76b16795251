package outbox

import (
	"context"
	"testing"

	"github.com/xmppctl/xmppctl/internal/xmpptest"
)

// BenchmarkSendLine: the outbox's own cost of one `send --lines` message
// (build, track, settle in batches of 200), without the wire (the fake
// session keeps what was sent). Profile with
// go test -run XXX -bench SendLine -benchmem -memprofile m.out ./pkg/outbox
func BenchmarkSendLine(b *testing.B) {
	s := xmpptest.New()
	o := New(s, false)
	o.BatchSize = 200
	settled := 0
	o.OnSettled = func(Result) { settled++ }
	ctx := context.Background()
	c := Content{Type: "chat", Body: "line 0001"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.Send(ctx, "bob@example.org", c); err != nil {
			b.Fatal(err)
		}
	}
}
