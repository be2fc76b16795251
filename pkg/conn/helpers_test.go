package conn

import (
	"encoding/xml"
	"net"
)

type xmlAttr = xml.Attr

func xmppName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

// SocketOf exposes, to the integration tests, the socket sockOf finds
// under a session's go-xmpp client.
func SocketOf(s Session) *net.TCPConn { return sockOf(s.(*session).c) }

// LoginSocketFound reports whether the session's login found its socket.
func LoginSocketFound(s Session) bool { return s.(*session).tap.loginAck }
