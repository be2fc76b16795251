package csi

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// NS is the XEP-0352 namespace.
const NS = "urn:xmpp:csi:0"

type inactive struct {
	XMLName xml.Name `xml:"urn:xmpp:csi:0 inactive"`
}

type active struct {
	XMLName xml.Name `xml:"urn:xmpp:csi:0 active"`
}

// Inactive tells the server we are a background client. CSI elements are
// nonzas: the server sends no answer.
func Inactive(ctx context.Context, s conn.Session) error {
	if err := s.Send(ctx, inactive{}); err != nil {
		return fmt.Errorf("client state inactive: %w", err)
	}
	return nil
}

// Active tells the server we are in the foreground.
func Active(ctx context.Context, s conn.Session) error {
	if err := s.Send(ctx, active{}); err != nil {
		return fmt.Errorf("client state active: %w", err)
	}
	return nil
}
