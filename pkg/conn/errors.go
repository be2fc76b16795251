package conn

import (
	"errors"
	"fmt"
)

// AuthError reports that the server rejected the account's credentials.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string {
	if e.Reason == "" {
		return "authentication failed"
	}
	return "authentication failed: " + e.Reason
}

// ConnectError reports that no connection to the server could be
// established or that an established one broke: DNS, TCP, TLS, or a stream
// that ended unexpectedly.
type ConnectError struct {
	Addr string // host:port tried, if any
	TLS  bool   // the failure is about TLS or the certificate
	Cert bool   // the server's certificate failed verification (TLS is set too)
	Lost bool   // an established session ended
	// Condition is the defined condition of the stream error that ended
	// the session (PolicyViolation), when the server sent one.
	Condition StreamCondition
	Err       error
}

func (e *ConnectError) Error() string {
	if e.Lost {
		return fmt.Sprintf("connection to %s lost: %v", e.Addr, e.Err)
	}
	what := "connect"
	if e.TLS {
		what = "tls"
	}
	if e.Addr != "" {
		return fmt.Sprintf("%s %s: %v", what, e.Addr, e.Err)
	}
	return fmt.Sprintf("%s: %v", what, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// ErrClosed is returned for operations on a session whose stream has ended.
var ErrClosed = errors.New("connection closed")
