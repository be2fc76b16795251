package conn

import (
	"context"
	"fmt"
	"net"

	xmpp "github.com/xmppo/go-xmpp"
)

// go-xmpp's SendOrg copies every stanza three times on its way out (the
// argument with a newline appended, fmt.Sprint of that, and the debug
// writer's "SEND "-prefixed copy for the tap), on top of the string our
// encoder had to make for it: four fresh copies of each stanza. For a
// `send --lines` of 1,000 lines that was most of the heap it grew, and of
// the pages it touched (issue 16). After login the session writes its
// stanzas itself, from the encoder's buffer, to the connection go-xmpp
// writes to (its unexported conn field, found as quickack.go finds it),
// and tells the tap what it wrote, as go-xmpp's debug writer would have.
//
// The bytes on the wire are SendOrg's: the stanza and a newline, in one
// Write, so a concurrent write by go-xmpp (its answers to pings inside
// Recv, on the fallback receive loop) still lands between whole stanzas:
// tls.Conn serialises Writes. writeRaw (stream-management nonzas) goes
// the same way.
// With --debug-xml, SendOrg stays, so that what is printed is unchanged.
// If a go-xmpp release renames or wraps the field, directWriter finds
// nothing and SendOrg is used, as before (TestContractDirectWrite).

// directWriter returns where the session may write its stanzas itself, or
// nil to go through SendOrg.
func directWriter(c *xmpp.Client, t *tap) net.Conn {
	if t.out != nil {
		return nil
	}
	return streamOf(c)
}

// writeLine writes one marshalled stanza (ending in its newline) with wmu
// held: itself when it can, refusing as SendOrg does what exceeds the
// server's advertised stanza limit (XEP-0478) and counting it for stream
// management in the tap; else through SendOrg, which adds the newline.
func (s *session) writeLine(line []byte) error {
	if s.w == nil {
		_, err := s.c.SendOrg(string(line[:len(line)-1]))
		return err
	}
	if lim := s.c.LimitMaxBytes; lim != 0 && len(line) > lim {
		return fmt.Errorf("stanza size (%v bytes) exceeds server limit (%v bytes)", len(line), lim)
	}
	if _, err := s.w.Write(line); err != nil {
		return err
	}
	s.tap.sent(line)
	return nil
}

// takeWrites makes the session write to the server's connection itself
// when it runs through the login relay and already reads it itself
// (relay.go, stopWrites). Not when it reads through go-xmpp: go-xmpp's
// Recv answers pings on its own connection, which is then closed for
// writing.
func (s *session) takeWrites(ctx context.Context) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.relay == nil || s.stream == nil || s.w == nil {
		return nil
	}
	w, err := s.relay.stopWrites(ctx, s.w)
	if err != nil {
		return err
	}
	s.w = w
	return nil
}
