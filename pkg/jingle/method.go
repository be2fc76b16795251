package jingle

import (
	"errors"
	"fmt"
)

var errWantMethod = errors.New("want auto, s5b or ibb")

// Method is how the bytes of a file transfer travel: the user's choice
// (--transport) and, once negotiated, the transport a session uses. The
// same values serve the legacy stream initiation of package si.
type Method string

// The transfer methods.
const (
	// MethodAuto tries SOCKS5 bytestreams and falls back to in-band
	// bytestreams when no candidate connects.
	MethodAuto Method = "auto"
	// MethodS5B is SOCKS5 bytestreams only (XEP-0260, XEP-0065).
	MethodS5B Method = "s5b"
	// MethodIBB is in-band bytestreams only (XEP-0261, XEP-0047).
	MethodIBB Method = "ibb"
)

// ParseMethod returns the method named s: auto, s5b or ibb.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MethodAuto, MethodS5B, MethodIBB:
		return m, nil
	}
	return "", fmt.Errorf("invalid transport %q: %w", s, errWantMethod)
}

// String returns the method's name; it makes *Method a flag.Value.
func (m Method) String() string { return string(m) }

// Set parses s into m; it makes *Method a flag.Value, so that a bad value is
// refused while the flags are parsed.
func (m *Method) Set(s string) error {
	v, err := ParseMethod(s)
	if err != nil {
		// The flag package already names the value and the flag.
		return errWantMethod
	}
	*m = v
	return nil
}

// Type names the flag's value in help text; "string" keeps the help of the
// --transport flags as it was when they were plain strings.
func (m *Method) Type() string { return "string" }

// AllowsS5B reports whether SOCKS5 bytestreams may be used (the zero
// Method means auto).
func (m Method) AllowsS5B() bool { return m != MethodIBB }

// AllowsIBB reports whether in-band bytestreams may be used (the zero
// Method means auto).
func (m Method) AllowsIBB() bool { return m != MethodS5B }
