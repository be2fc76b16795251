package conn

import "bytes"

// presenceFilter passes on of the received stream only what the presence
// watch decodes: stream headers and top-level presences. Decoding every
// stanza a second time would grow that decoder's buffer to the largest text
// seen and keep it for the rest of the stream (issue 14 defect 12: a 50 MB
// message cost 64 MiB more, for good). It follows the element depth as
// streamScan does ('<' always starts a tag outside CDATA, quotes are
// tracked inside tags) and also knows CDATA sections, so that text of a
// skipped stanza cannot open a presence. Whatever it gets wrong reaches
// the decoder as bad XML, which ends the watch of that stream, as before.
type presenceFilter struct {
	depth int
	state int
	quote quoteState
	tag   []byte // the current tag after '<' (bounded unless kept)
	last  byte   // the tag's last byte so far
	keep  bool   // inside a top-level presence
	over  bool   // a kept tag outgrew maxFilterTag: give up on the stream
	end   int    // CDATA: how much of "]]>" was just seen
}

const (
	inText = iota
	inTag
	inCDATA
)

// maxFilterTag bounds one tag kept for the decoder; the decoder is given up
// past it, at a stanza that large.
const maxFilterTag = 1 << 20

var (
	cdataStart   = []byte("![CDATA[")
	presenceName = []byte("presence")
)

// filter appends what the decoder needs of chunk to out and returns it; ok
// is false when the stream is no longer followed.
func (f *presenceFilter) filter(out, chunk []byte) ([]byte, bool) {
	for len(chunk) > 0 && !f.over {
		switch f.state {
		case inText:
			i := bytes.IndexByte(chunk, '<')
			if i < 0 {
				i = len(chunk)
			}
			if f.keep {
				out = append(out, chunk[:i]...)
			}
			chunk = chunk[i:]
			if len(chunk) > 0 {
				f.state, f.quote, f.tag, f.last = inTag, 0, f.tag[:0], 0
				chunk = chunk[1:]
			}
		case inCDATA:
			i := 0
			for ; i < len(chunk) && f.end < 3; i++ {
				switch {
				case chunk[i] == ']' && f.end < 2:
					f.end++
				case chunk[i] == '>' && f.end == 2:
					f.end = 3
				case chunk[i] == ']':
					// "]]]": still two brackets before a possible '>'
				default:
					f.end = 0
				}
			}
			if f.keep {
				out = append(out, chunk[:i]...)
			}
			chunk = chunk[i:]
			if f.end == 3 {
				f.state = inText
			}
		case inTag:
			c := chunk[0]
			chunk = chunk[1:]
			if f.quote == 0 && c == '>' {
				f.state = inText
				out = f.endTag(out)
				continue
			}
			f.quote.markup(c)
			f.last = c
			// A top-level tag is kept whole while it may be a presence.
			if len(f.tag) < maxTag || f.keep || f.depth == 1 && bytes.HasPrefix(f.tag, presenceName) {
				if len(f.tag) == maxFilterTag {
					f.over = true
					break
				}
				f.tag = append(f.tag, c)
			}
			if len(f.tag) == len(cdataStart) && bytes.Equal(f.tag, cdataStart) {
				f.state, f.end = inCDATA, 0
				if f.keep {
					out = append(append(out, '<'), cdataStart...)
				}
			}
		}
	}
	return out, !f.over
}

// endTag handles the tag just read.
func (f *presenceFilter) endTag(out []byte) []byte {
	tag := f.tag
	if len(tag) == 0 {
		return out
	}
	emit := func() { out = append(append(append(out, '<'), tag...), '>') }
	switch tag[0] {
	case '?', '!':
		if f.keep || f.depth == 0 {
			emit()
		}
		return out
	case '/':
		switch {
		case f.depth <= 1:
			emit() // the stream's end
			f.depth = 0
		default:
			if f.keep {
				emit()
			}
			f.depth--
			if f.depth == 1 {
				f.keep = false
			}
		}
		return out
	}
	name := tagName(tag)
	self := f.last == '/'
	switch {
	case name == "stream:stream" || name == "stream":
		f.depth, f.keep = 1, false
		emit()
		return out
	case f.depth == 1:
		f.keep = name == "presence"
	}
	if f.keep {
		emit()
	}
	if self {
		if f.depth == 1 {
			f.keep = false
		}
	} else {
		f.depth++
	}
	return out
}
