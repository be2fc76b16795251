package conn

import (
	"encoding/xml"
	"net"
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

// LoginSocketFound reports whether the session's login found its socket.
func LoginSocketFound(s Session) bool { return s.(*session).tap.loginAck }
