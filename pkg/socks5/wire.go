package socks5

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// The wire rules (RFC 1928 as profiled by XEP-0065 §5.3 and §6.3): the
// client offers only the "no authentication" method, sends CONNECT with
// ATYP=3 (domain name) whose value is the 40-character hex SHA-1 hash and
// port 0; the server answers with the same address. Nothing else is ever
// valid, so the parsers reject everything else.

const (
	version    = 5
	methodNone = 0
	cmdConnect = 1
	atypIPv4   = 1
	atypDomain = 3
	atypIPv6   = 4

	// ReplySucceeded and the other reply codes of RFC 1928 §6.
	ReplySucceeded     = 0
	ReplyGeneral       = 1
	ReplyNotAllowed    = 2
	ReplyHostUnreach   = 4
	ReplyCmdNotSupport = 7
	ReplyAtypNotSupp   = 8
)

// ErrProtocol is wrapped by every error about malformed SOCKS5 input.
var ErrProtocol = errors.New("socks5 protocol error")

// DstAddr returns the DST.ADDR of a bytestream: the lowercase hex SHA-1 of
// the stream id, the requester's full JID and the target's full JID
// (XEP-0065 §5.3.2). In XEP-0260 the requester is the party that offered
// the candidate and the target is the party connecting to it.
func DstAddr(sid, requester, target string) string {
	h := sha1.Sum([]byte(sid + requester + target))
	return hex.EncodeToString(h[:])
}

// Request builds the client's CONNECT request for dst.
func Request(dst string) ([]byte, error) {
	if len(dst) == 0 || len(dst) > 255 {
		return nil, fmt.Errorf("%w: DST.ADDR length %d", ErrProtocol, len(dst))
	}
	b := make([]byte, 0, 7+len(dst))
	b = append(b, version, cmdConnect, 0, atypDomain, byte(len(dst)))
	b = append(b, dst...)
	return append(b, 0, 0), nil
}

// Reply is a parsed server reply (or client request: same layout).
type Reply struct {
	Code byte   // REP (or CMD for a request)
	Atyp byte   // address type
	Addr string // domain name, or the textual IP
	Port uint16
}

// ReadReply reads one reply (RFC 1928 §6) from r.
func ReadReply(r io.Reader) (Reply, error) {
	return readAddrMessage(r)
}

// readAddrMessage reads VER, CODE, RSV, ATYP, ADDR, PORT.
func readAddrMessage(r io.Reader) (Reply, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return Reply{}, fmt.Errorf("read socks5 header: %w", err)
	}
	if hdr[0] != version {
		return Reply{}, fmt.Errorf("%w: version %d", ErrProtocol, hdr[0])
	}
	rep := Reply{Code: hdr[1], Atyp: hdr[3]}
	var addr []byte
	switch hdr[3] {
	case atypIPv4:
		addr = make([]byte, 4)
	case atypIPv6:
		addr = make([]byte, 16)
	case atypDomain:
		if _, err := io.ReadFull(r, hdr[4:5]); err != nil {
			return Reply{}, fmt.Errorf("read socks5 address: %w", err)
		}
		addr = make([]byte, hdr[4])
	default:
		return Reply{}, fmt.Errorf("%w: address type %d", ErrProtocol, hdr[3])
	}
	if _, err := io.ReadFull(r, addr); err != nil {
		return Reply{}, fmt.Errorf("read socks5 address: %w", err)
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return Reply{}, fmt.Errorf("read socks5 port: %w", err)
	}
	rep.Port = binary.BigEndian.Uint16(port[:])
	if rep.Atyp == atypDomain {
		rep.Addr = string(addr)
	} else {
		rep.Addr = net.IP(addr).String()
	}
	return rep, nil
}

// ClientHandshake runs the target's side of the SOCKS5 exchange on an
// open connection: greeting, method selection, CONNECT to dst, and a
// successful reply naming dst.
func ClientHandshake(rw io.ReadWriter, dst string) error {
	req, err := Request(dst)
	if err != nil {
		return err
	}
	// The request waits for the method selection: some streamhosts
	// (proxies) parse the greeting only when it arrives on its own.
	if _, err := rw.Write([]byte{version, 1, methodNone}); err != nil {
		return fmt.Errorf("socks5 greeting: %w", err)
	}
	var sel [2]byte
	if _, err := io.ReadFull(rw, sel[:]); err != nil {
		return fmt.Errorf("socks5 method selection: %w", err)
	}
	if sel[0] != version || sel[1] != methodNone {
		return fmt.Errorf("%w: method selection %d/%d", ErrProtocol, sel[0], sel[1])
	}
	if _, err := rw.Write(req); err != nil {
		return fmt.Errorf("socks5 connect: %w", err)
	}
	rep, err := ReadReply(rw)
	if err != nil {
		return err
	}
	if rep.Code != ReplySucceeded {
		return fmt.Errorf("socks5 connect refused: reply code %d", rep.Code)
	}
	if rep.Atyp == atypDomain && rep.Addr != dst {
		return fmt.Errorf("%w: reply names %q, want %q", ErrProtocol, rep.Addr, dst)
	}
	return nil
}

// ServerHandshake runs the streamhost's side: it reads the greeting and
// the CONNECT request and returns the requested DST.ADDR without
// answering it, so that the caller can check the hash first and then call
// Accept or Refuse.
func ServerHandshake(rw io.ReadWriter) (string, error) {
	var g [2]byte
	if _, err := io.ReadFull(rw, g[:]); err != nil {
		return "", fmt.Errorf("read socks5 greeting: %w", err)
	}
	if g[0] != version || g[1] == 0 {
		return "", fmt.Errorf("%w: greeting %d/%d", ErrProtocol, g[0], g[1])
	}
	methods := make([]byte, g[1])
	if _, err := io.ReadFull(rw, methods); err != nil {
		return "", fmt.Errorf("read socks5 methods: %w", err)
	}
	ok := false
	for _, m := range methods {
		ok = ok || m == methodNone
	}
	if !ok {
		_, _ = rw.Write([]byte{version, 0xFF})
		return "", fmt.Errorf("%w: client does not offer 'no authentication'", ErrProtocol)
	}
	if _, err := rw.Write([]byte{version, methodNone}); err != nil {
		return "", fmt.Errorf("socks5 method selection: %w", err)
	}
	req, err := readAddrMessage(rw)
	if err != nil {
		return "", err
	}
	if req.Code != cmdConnect {
		_ = reply(rw, ReplyCmdNotSupport, "")
		return "", fmt.Errorf("%w: command %d", ErrProtocol, req.Code)
	}
	if req.Atyp != atypDomain {
		_ = reply(rw, ReplyAtypNotSupp, "")
		return "", fmt.Errorf("%w: address type %d, want a domain name", ErrProtocol, req.Atyp)
	}
	return req.Addr, nil
}

// Accept answers a CONNECT request with success, echoing dst.
func Accept(w io.Writer, dst string) error { return reply(w, ReplySucceeded, dst) }

// Refuse answers a CONNECT request with "connection not allowed".
func Refuse(w io.Writer) error { return reply(w, ReplyNotAllowed, "") }

func reply(w io.Writer, code byte, dst string) error {
	b := []byte{version, code, 0, atypDomain, byte(len(dst))}
	b = append(b, dst...)
	b = append(b, 0, 0)
	_, err := w.Write(b)
	return err
}

// Dial connects to a streamhost at host:port and runs the client
// handshake for dst. The context bounds both.
func Dial(ctx context.Context, host string, port int, dst string) (net.Conn, error) {
	var d net.Dialer
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// The context, not a deadline of its own, interrupts the handshake, so
	// that a timeout is reported as the context's error.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	err = ClientHandshake(c, dst)
	stop()
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("streamhost %s: %w", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}
