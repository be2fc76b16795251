package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/xmppctl/xmppctl/pkg/listen"
	"github.com/xmppctl/xmppctl/pkg/store"
)

// streamBodyOver is the body size from which a message's JSON line is
// written with its body streamed: encoding/json would build the escaped
// body in a buffer of its own and then copy it into the line's buffer, two
// copies of the largest thing a message holds (issue 14 defect 12).
const streamBodyOver = 64 << 10

// bodyChunk is how much of a streamed body is escaped at a time.
const bodyChunk = 32 << 10

// writeMessageJSON writes m, with room's fields when room is not nil, as
// one JSON line: byte for byte what json.Encoder writes for it.
func writeMessageJSON(w io.Writer, m *store.Message, room *listen.RoomInfo) error {
	value := func(m *store.Message) any {
		if room == nil {
			return m
		}
		return struct {
			*store.Message
			*listen.RoomInfo
		}{m, room}
	}
	if len(m.Body) < streamBodyOver {
		return json.NewEncoder(w).Encode(value(m))
	}
	rest := *m
	rest.Body = ""
	line, err := json.Marshal(value(&rest))
	if err != nil {
		return err
	}
	// Inside a JSON string every '"' is escaped, so an unescaped `"body":""`
	// is the key itself; Message's keys come first in the line and "body"
	// is never omitted.
	i := bytes.Index(line, []byte(`"body":""`))
	if i < 0 {
		return json.NewEncoder(w).Encode(value(m))
	}
	i += len(`"body":"`)
	bw := bufio.NewWriterSize(w, bodyChunk)
	_, _ = bw.Write(line[:i])
	if err := writeJSONStringContent(bw, m.Body); err != nil {
		return err
	}
	_, _ = bw.Write(line[i:])
	_ = bw.WriteByte('\n')
	return bw.Flush()
}

// writeJSONStringContent writes s escaped as the inside of a JSON string,
// as encoding/json escapes it, a chunk at a time. JSON escapes rune by
// rune (an invalid byte becomes \ufffd on its own), so cutting s only
// where a rune may start changes nothing.
func writeJSONStringContent(w io.Writer, s string) error {
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	for len(s) > 0 {
		n := cut(s, bodyChunk)
		q.Reset()
		if err := enc.Encode(s[:n]); err != nil {
			return err
		}
		// Encode wrote "…"\n.
		if _, err := w.Write(q.Bytes()[1 : q.Len()-2]); err != nil {
			return err
		}
		s = s[n:]
	}
	return nil
}

// cut returns where to end the chunk of s that is at most limit bytes long:
// before the start of the rune that s[limit] belongs to. A continuation
// byte that follows UTFMax-1 others belongs to no rune that started before
// it, so no more are looked back.
func cut(s string, limit int) int {
	if len(s) <= limit {
		return len(s)
	}
	for n := limit; n > 0 && n > limit-utf8.UTFMax; n-- {
		if utf8.RuneStart(s[n]) {
			return n
		}
	}
	return limit
}
