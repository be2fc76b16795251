package conn

import (
	"bytes"
	"errors"
	"io"
)

// framer splits the stream, after login, into its top-level elements
// (stanzas and nonzas), whole, without decoding them: the receive loop
// then decodes each one from its bytes (read.go), an archive result with
// the fast parser of pkg/forward. It follows the element depth as the SM
// scan does (smscan.go: every '<' outside a start tag's quoted values
// starts markup), skips comments, CDATA sections and processing
// instructions inside an element so that a '<' in them does not count,
// and refuses what a server never sends at the top level (text, comments,
// CDATA, processing instructions): the stream ends with an error, as
// RFC 6120 §11.1 wants. Whether an element is well-formed is not its
// business: encoding/xml or the fast parser finds that out when it is
// decoded, and the stream ends the same way.
//
// Its state survives between reads, so an element arriving in many reads
// is scanned once; the buffer grows to the largest element the server
// sends (which the server bounds) and shrinks back after it.
type framer struct {
	r   io.Reader
	buf []byte
	// buf[start:end] is unread; buf[start:pos] is the part of the element
	// being framed that has been scanned.
	start, pos, end int
	depth           int
	mode            frameMode
	quote           quoteState // inside a start tag
	err             error      // the reader's, returned once the bytes before it are framed
}

type frameMode uint8

const (
	frText frameMode = iota
	frStartTag
	frEndTag
	frComment
	frCDATA
	frPI
)

const (
	frameMin  = 16 << 10 // the buffer's size, and what one read asks for at least
	frameKeep = 1 << 20  // a buffer grown past this shrinks back after the element
)

var (
	errTopLevelText   = errors.New("stream: text at the top level")
	errTopLevelMarkup = errors.New("stream: comment, CDATA or processing instruction at the top level")
	errBadMarkup      = errors.New("stream: markup declaration in an element")
	errBadEndTag      = errors.New("stream: end tag at the top level that does not close the stream")
)

func newFramer(r io.Reader) *framer {
	return &framer{r: r, buf: make([]byte, frameMin)}
}

// next returns the next top-level element; its bytes are valid until the
// following call. At the server's closing tag it returns errServerClosed;
// at the end of the input io.EOF between elements, io.ErrUnexpectedEOF
// inside one.
func (f *framer) next() ([]byte, error) {
	f.start = f.pos
	if cap(f.buf) > frameKeep && f.end-f.start < frameMin {
		f.resize(frameMin)
	}
	for {
		done, err := f.scan()
		if err != nil {
			return nil, err
		}
		if done {
			return f.buf[f.start:f.pos], nil
		}
		if err := f.fill(); err != nil {
			if err == io.EOF && (f.pos > f.start || f.mode != frText) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// resize moves the unread bytes into a new buffer of size n.
func (f *framer) resize(n int) {
	nb := make([]byte, n)
	f.end = copy(nb, f.buf[f.start:f.end])
	f.pos -= f.start
	f.start = 0
	f.buf = nb
}

// fill reads more input after the unread bytes, making room first.
func (f *framer) fill() error {
	if f.err != nil {
		return f.err
	}
	if len(f.buf)-f.end < frameMin {
		if n := f.end - f.start; n+frameMin <= len(f.buf) {
			copy(f.buf, f.buf[f.start:f.end])
			f.pos -= f.start
			f.end, f.start = n, 0
		} else {
			f.resize(2 * (n + frameMin))
		}
	}
	for range 100 {
		n, err := f.r.Read(f.buf[f.end:])
		f.end += n
		if err != nil {
			f.err = err
		}
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// scan goes on where it stopped; done means buf[start:pos] is an element.
func (f *framer) scan() (done bool, err error) {
	for f.pos < f.end {
		b := f.buf[f.pos:f.end]
		switch f.mode {
		case frText:
			i := bytes.IndexByte(b, '<')
			if i < 0 {
				i = len(b)
			}
			if f.depth == 0 {
				if !isBlank(b[:i]) {
					return false, errTopLevelText
				}
				f.start = f.pos + i // an element starts at its '<'
			}
			f.pos += i
			if i == len(b) {
				return false, nil
			}
			if !f.markup() {
				return false, nil // the markup's first bytes are not all in yet
			}
			if f.depth == 0 && f.mode != frStartTag && f.mode != frEndTag {
				return false, errTopLevelMarkup
			}
			if f.mode == frText {
				return false, errBadMarkup
			}
		case frStartTag:
			i := f.tagEnd(b)
			if i < 0 {
				f.pos = f.end
				return false, nil
			}
			self := i > 0 && b[i-1] == '/' || i == 0 && f.pos > 0 && f.buf[f.pos-1] == '/'
			f.pos += i + 1
			f.mode = frText
			if self {
				if f.depth == 0 {
					return true, nil
				}
				continue
			}
			f.depth++
		case frEndTag:
			i := bytes.IndexByte(b, '>')
			if i < 0 {
				f.pos = f.end
				return false, nil
			}
			f.pos += i + 1
			f.mode = frText
			if f.depth == 0 {
				return false, f.closing(f.buf[f.start:f.pos])
			}
			f.depth--
			if f.depth == 0 {
				return true, nil
			}
		case frComment, frCDATA, frPI:
			end := terminator(f.mode)
			i := bytes.Index(b, end)
			if i < 0 {
				// Keep what could be the start of the terminator.
				f.pos = max(f.pos, f.end-len(end)+1)
				return false, nil
			}
			f.pos += i + len(end)
			f.mode = frText
		}
	}
	return false, nil
}

// markup reads what the '<' at pos starts and sets the mode; false when
// more bytes are needed to tell.
func (f *framer) markup() bool {
	b := f.buf[f.pos:f.end]
	if len(b) < 2 {
		return false
	}
	switch b[1] {
	case '/':
		f.mode, f.pos = frEndTag, f.pos+2
	case '?':
		f.mode, f.pos = frPI, f.pos+2
	case '!':
		switch {
		case bytes.HasPrefix(b, []byte("<!--")):
			f.mode, f.pos = frComment, f.pos+4
		case bytes.HasPrefix(b, []byte("<![CDATA[")):
			f.mode, f.pos = frCDATA, f.pos+9
		case bytes.HasPrefix([]byte("<![CDATA["), b) || bytes.HasPrefix([]byte("<!--"), b):
			return false
		default:
			f.mode = frText // a DTD declaration: not XMPP (scan reports it)
		}
	default:
		f.mode, f.quote, f.pos = frStartTag, 0, f.pos+1
	}
	return true
}

// tagEnd returns the index of the '>' ending the start tag in b, outside
// quoted values, or -1; the quote state carries over between calls.
func (f *framer) tagEnd(b []byte) int {
	for i, c := range b {
		if f.quote.markup(c) && c == '>' {
			return i
		}
	}
	return -1
}

// closing checks the end tag at the top level: the server's closing tag
// of the stream (any prefix), which ends it.
func (f *framer) closing(tag []byte) error {
	name := bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimPrefix(tag, []byte("</")), []byte(">")))
	if _, local, _ := bytes.Cut(name, []byte(":")); string(local) == "stream" || string(name) == "stream" {
		return errServerClosed
	}
	return errBadEndTag
}

// terminator is what ends a comment, CDATA section or processing
// instruction.
func terminator(m frameMode) []byte {
	switch m {
	case frComment:
		return []byte("-->")
	case frCDATA:
		return []byte("]]>")
	}
	return []byte("?>")
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
