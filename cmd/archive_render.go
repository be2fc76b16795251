package cmd

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/store"
	"github.com/xmppctl/xmppctl/pkg/styling"
	"github.com/xmppctl/xmppctl/pkg/term"
)

// messagePrinter renders stored messages for people (one line each, with
// XEP-0393 styling on a terminal) or as JSON Lines.
type messagePrinter struct {
	w     io.Writer
	json  bool
	tty   bool // style with ANSI; otherwise plain text
	local *time.Location
}

func newMessagePrinter(f *Factory) *messagePrinter {
	return &messagePrinter{w: f.IO.Out, json: f.Global.JSON, tty: f.IO.OutTTY, local: time.Local}
}

func (p *messagePrinter) print(m *store.Message) error {
	if p.json {
		return writeMessageJSON(p.w, m, nil)
	}
	// "TIME  <- PEER  BODY": every piece of remote text sanitised;
	// continuation lines of a multi-line body indented under the body.
	head := p.head(m)
	prefix, body := p.parts(m)
	// Written in pieces, not joined: the body may be megabytes (issue 14
	// defect 12).
	bw := bufio.NewWriter(p.w)
	_, _ = bw.WriteString(head)
	_, _ = bw.WriteString(prefix)
	indent := "\n" + strings.Repeat(" ", len(head))
	for {
		line, rest, more := strings.Cut(body, "\n")
		_, _ = bw.WriteString(line)
		if !more {
			break
		}
		_, _ = bw.WriteString(indent)
		body = rest
	}
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

// head is "TIME  <- PEER  ".
func (p *messagePrinter) head(m *store.Message) string {
	arrow := "<-"
	if m.Direction == store.Out {
		arrow = "->"
	}
	peer := m.With
	if m.Type == string(stanza.GroupChatMessage) {
		if _, nick, ok := strings.Cut(m.From, "/"); ok {
			peer = m.With + "/" + nick
		}
	}
	return fmt.Sprintf("%s  %s %s  ", m.Time.In(p.local).Format("2006-01-02 15:04:05"), arrow,
		term.Sanitize(peer, false))
}

// text is the tags and the body, sanitised, continuation lines indented.
func (p *messagePrinter) text(m *store.Message, indent int) string {
	prefix, safe := p.parts(m)
	return prefix + strings.ReplaceAll(safe, "\n", "\n"+strings.Repeat(" ", indent))
}

// parts returns the tags (followed by a space when a body follows) and the
// body, each sanitised (and the body styled for a terminal).
func (p *messagePrinter) parts(m *store.Message) (string, string) {
	body := m.Body
	var tags []string
	switch {
	case m.Replace != "":
		tags = append(tags, "(correction)")
	case m.Body == "" && m.ReceiptFor != "":
		tags = append(tags, "(receipt for "+m.ReceiptFor+")")
	case m.Body == "" && m.Marker != "":
		tags = append(tags, "("+m.Marker+" "+m.MarkerFor+")")
	}
	if m.Subject != "" {
		tags = append(tags, "[subject: "+m.Subject+"]")
	}
	if m.DecryptError != "" {
		tags = append(tags, "[OMEMO message, not decrypted: "+m.DecryptError+"]")
	} else if m.Encrypted != "" && m.Trust != "" && m.Trust != "verified" && m.Direction == store.In {
		tags = append(tags, "[OMEMO, "+m.Trust+" device]")
	}
	if m.OOB != "" && m.OOB != m.Body {
		tags = append(tags, "<"+m.OOB+">")
	}
	prefix := ""
	if len(tags) > 0 {
		prefix = term.Sanitize(strings.Join(tags, " "), false)
		if body != "" {
			prefix += " "
		}
	}
	safe := term.Sanitize(body, true)
	if p.tty {
		safe = styling.Render(safe)
	}
	return prefix, safe
}
