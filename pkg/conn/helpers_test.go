package conn

import (
	"encoding/xml"
	"net"
	"time"
)

type xmlAttr = xml.Attr

func xmppName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

// SocketOf exposes, to the integration tests, the socket sockOf finds
// under a session's go-xmpp client.
// Through the login relay that is the relay's socket to the server.
func SocketOf(s Session) *net.TCPConn {
	if r := s.(*session).relay; r != nil {
		return r.upTCP
	}
	return sockOf(s.(*session).c)
}

// Relayed reports whether the session runs through the login relay.
func Relayed(s Session) bool { return s.(*session).relay != nil }

// RelayHandedOff reports whether the session reads and writes the server
// itself, the relay having stopped forwarding both ways (relay.go's
// stopReads and stopWrites); it waits for the relay to stop, at most ten
// seconds.
func RelayHandedOff(s Session) bool {
	r := s.(*session).relay
	if r == nil {
		return false
	}
	for _, ch := range []chan struct{}{r.stopped, r.wstopped} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			return false
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handedOff && r.wHandedOff
}

// LoginSocketFound reports whether the session's login found its socket.
func LoginSocketFound(s Session) bool { return s.(*session).tap.loginAck }
