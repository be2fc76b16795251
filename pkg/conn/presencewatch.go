package conn

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"sync"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// PresenceWatcher is implemented by sessions dialled with
// Options.WatchPresence.
type PresenceWatcher interface {
	// PresenceExt returns the child elements (other than show, status and
	// priority) of the latest available presence from the full JID jid:
	// entity capabilities above all, which go-xmpp's Presence drops. It is
	// nil when none was seen or jid went unavailable.
	PresenceExt(jid string) []stanza.Element
	// UnavailableExt waits until the watcher has decoded an unavailable
	// presence from the full JID jid (received since its last available
	// one) and returns its child elements: a room's status codes and
	// <destroy/>, which go-xmpp's Presence drops. Call it after the
	// unavailable presence arrived: its bytes have then reached the
	// watcher, so the wait is for the decoder, not for the network. It
	// returns ctx's error when the watcher could not decode the stream.
	UnavailableExt(ctx context.Context, jid string) ([]stanza.Element, error)
}

// maxWatched bounds the presences remembered (a huge roster, a big room).
const maxWatched = 10000

// presenceWatch decodes the incoming stream a second time, from go-xmpp's
// debug copy, to keep what its Presence type loses. Each stream (a chunk
// that starts with an XML declaration or a stream header starts one) gets
// its own decoder; a decoder that meets something it cannot parse stops,
// and the presences of that stream are then simply not known (callers fall
// back to asking).
type presenceWatch struct {
	pw     *io.PipeWriter // input of the current stream's decoder; nil: none
	done   chan struct{}  // closed when that decoder has returned
	filter presenceFilter // what of the stream the decoder gets
	out    []byte         // the filter's output, reused

	mu  sync.Mutex
	ext map[string][]stanza.Element
	// gone holds the children of the latest unavailable presence per full
	// JID until it is available again; changed is closed and replaced
	// whenever one is recorded.
	gone    map[string][]stanza.Element
	changed chan struct{}
}

func newPresenceWatch() *presenceWatch {
	return &presenceWatch{ext: map[string][]stanza.Element{}, gone: map[string][]stanza.Element{}, changed: make(chan struct{})}
}

// feed passes one received chunk on; the tap calls it, one chunk at a time.
func (w *presenceWatch) feed(chunk []byte) {
	if bytes.HasPrefix(chunk, []byte("<?xml")) || bytes.HasPrefix(chunk, []byte("<stream:stream")) {
		w.stop()
		pr, pw := io.Pipe()
		w.pw, w.done = pw, make(chan struct{})
		w.filter = presenceFilter{}
		go w.decode(pr, w.done)
	}
	if w.pw == nil {
		return
	}
	out, ok := w.filter.filter(w.out[:0], chunk)
	if !ok {
		w.stop() // a presence too large to follow
		return
	}
	if len(out) > 0 {
		if _, err := w.pw.Write(out); err != nil {
			w.stop() // the decoder gave up on this stream
		}
	}
	if cap(out) <= 1<<16 {
		w.out = out[:0] // the pipe's reader is done with it
	}
}

// stop ends the current decoder once it has handled everything fed.
func (w *presenceWatch) stop() {
	if w.done != nil {
		w.pw.Close()
		<-w.done
		w.pw, w.done = nil, nil
	}
}

// watchedPresence is what a presence carries besides go-xmpp's fields.
type watchedPresence struct {
	From string              `xml:"from,attr"`
	Type stanza.PresenceType `xml:"type,attr"`
	Ext  []stanza.Element    `xml:",any"`
}

func (w *presenceWatch) decode(pr *io.PipeReader, done chan<- struct{}) {
	defer close(done)
	// Closing the reader makes later writes fail at once.
	defer pr.Close()
	d := xml.NewDecoder(pr)
	var stack []string
	for {
		tok, err := d.Token()
		if err != nil {
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			// Only stanzas: a presence forwarded inside a message says
			// nothing about its sender.
			if t.Name.Local == "presence" && len(stack) > 0 && stack[len(stack)-1] == "stream" {
				var p watchedPresence
				if d.DecodeElement(&p, &t) != nil {
					return
				}
				w.record(p)
				continue
			}
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

func (w *presenceWatch) record(p watchedPresence) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch p.Type {
	case stanza.AvailablePresence:
		var ext []stanza.Element
		for _, e := range p.Ext {
			if e.XMLName.Space != stanza.NSClient {
				ext = append(ext, e)
			}
		}
		if _, known := w.ext[p.From]; known || len(w.ext) < maxWatched {
			w.ext[p.From] = ext
		}
		delete(w.gone, p.From)
	case stanza.UnavailablePresence:
		delete(w.ext, p.From)
		if _, known := w.gone[p.From]; known || len(w.gone) < maxWatched {
			w.gone[p.From] = append([]stanza.Element{}, p.Ext...)
			close(w.changed)
			w.changed = make(chan struct{})
		}
	}
}

func (w *presenceWatch) unavailable(ctx context.Context, jid string) ([]stanza.Element, error) {
	for {
		w.mu.Lock()
		ext, ok := w.gone[jid]
		ch := w.changed
		w.mu.Unlock()
		if ok {
			return ext, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (w *presenceWatch) get(jid string) []stanza.Element {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]stanza.Element(nil), w.ext[jid]...)
}
