package conn

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"io"
	"reflect"
	"sort"
	"strings"
	"unsafe"
)

// Once logged in, the receive loop takes the stream from go-xmpp's decoder
// and frames it itself (frame.go): decoding every stanza with encoding/xml,
// even through that decoder, was most of an archive sync's client CPU and
// half of what it allocated (issue 16), and go-xmpp's tee copied every
// read once more for the debug tap.
//
// The assumption "the decoder's read-ahead can be taken over"
// (TestContractHandoff): encoding/xml keeps the source of a decoder in its
// unexported field r, a *bufio.Reader when the reader given to NewDecoder
// is no io.ByteReader (go-xmpp's tee is not); a byte it read and put back
// in nextByte (-1 if none); the prefixes in scope in ns; a token it holds
// back in nextToken. The bufio.Reader keeps its source in rd, and go-xmpp's
// tee keeps the connection in r. The bytes the decoder read ahead and has
// not decoded (the put-back byte, then what the bufio.Reader holds) come
// first, then the connection, read through tapReader so that the tap still
// sees every byte before anything is decoded (it saw the read-ahead ones
// through the tee already). The decoder is left empty: go-xmpp's Close,
// which reads it once the receive loop has ended, reads the connection.
// Where any of this does not hold, takeStream changes nothing and the
// receive loop reads the decoder (read.go). Through the login relay,
// go-xmpp's connection is the relay's loopback one: the relay stops
// forwarding, that connection ends after the last byte it forwarded, and
// the server's connection follows (relay.go, stopReads).

// stream is the stream after login, as the receive loop reads it.
type stream struct {
	frames *framer
	// dec decodes what the fast path leaves to encoding/xml, one element
	// at a time fed through el, behind a stream header with the
	// namespaces in scope at the top level (read once): as it was in the
	// stream, and without a new decoder for every element.
	dec *xml.Decoder
	el  *elementReader
	// defaultNS is the namespace of unprefixed top-level elements.
	defaultNS string
}

// elementReader gives the stream's decoder one element's bytes at a time;
// it is an io.ByteReader, which the decoder reads without a bufio.Reader
// of its own. Past the element it reports io.EOF: a decoder wanting more
// has met a malformed element, which ends the stream.
type elementReader struct{ b []byte }

func (r *elementReader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

func (r *elementReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// takeStream takes the stream over from dec, which nothing may read
// meanwhile; ok=false when dec is not as the assumption says.
func takeStream(dec *xml.Decoder, t *tap, rl *relay) (*stream, bool) {
	src := fieldPtr[io.ByteReader](dec, "r")
	next := fieldPtr[int](dec, "nextByte")
	nsp := fieldPtr[map[string]string](dec, "ns")
	held := fieldPtr[xml.Token](dec, "nextToken")
	if src == nil || next == nil || nsp == nil || held == nil || *held != nil {
		return nil, false
	}
	br, ok := (*src).(*bufio.Reader)
	if !ok {
		return nil, false
	}
	conn := teeSource(br)
	if conn == nil {
		return nil, false
	}
	// Everything that can fail comes before anything is taken from dec.
	head, def := streamHead(*nsp)
	el := &elementReader{b: []byte(head)}
	sdec := xml.NewDecoder(el)
	if _, err := sdec.Token(); err != nil {
		return nil, false
	}
	var ahead []byte
	if *next >= 0 {
		ahead = append(ahead, byte(*next))
		*next = -1
	}
	n := br.Buffered()
	b, _ := br.Peek(n)
	ahead = append(ahead, b...)
	_, _ = br.Discard(n)
	r := io.Reader(&tapReader{r: conn, t: t})
	if rl != nil {
		// Through the login relay, go-xmpp's connection ends once the
		// relay has stopped forwarding; the server's follows.
		r = io.MultiReader(r, &tapReader{r: &serverReader{r: rl}, t: t})
		rl.stopReads()
	}
	if len(ahead) > 0 {
		r = io.MultiReader(bytes.NewReader(ahead), r)
	}
	return &stream{frames: newFramer(r), dec: sdec, el: el, defaultNS: def}, true
}

// teeSource returns the connection go-xmpp's tee reads, when br reads one.
func teeSource(br *bufio.Reader) io.Reader {
	rd := fieldPtr[io.Reader](br, "rd")
	if rd == nil || *rd == nil {
		return nil
	}
	tee := reflect.ValueOf(*rd)
	if tee.Kind() != reflect.Struct || tee.Type().Name() != "tee" || tee.Type().PkgPath() != "github.com/xmppo/go-xmpp" {
		return nil
	}
	cp := reflect.New(tee.Type())
	cp.Elem().Set(tee)
	conn := fieldPtr[io.Reader](cp.Interface(), "r")
	if conn == nil {
		return nil
	}
	return *conn
}

// streamHead builds a stream header declaring the prefixes in ns (what
// encoding/xml's decoder had in scope), and returns it with the default
// namespace.
func streamHead(ns map[string]string) (head, def string) {
	def = ns[""]
	if def == "" {
		def = "jabber:client"
	}
	attr := func(name, v string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(v))
		return " " + name + "='" + strings.ReplaceAll(b.String(), "'", "&apos;") + "'"
	}
	h := "<stream:stream" + attr("xmlns", def)
	prefixes := make([]string, 0, len(ns))
	for p := range ns {
		if p != "" && p != "xmlns" && p != "xml" && validPrefix(p) {
			prefixes = append(prefixes, p)
		}
	}
	sort.Strings(prefixes)
	if ns["stream"] == "" {
		h += attr("xmlns:stream", nsStream)
	}
	for _, p := range prefixes {
		h += attr("xmlns:"+p, ns[p])
	}
	return h + ">", def
}

// validPrefix: an ASCII name, what a prefix from a real stream header is.
func validPrefix(p string) bool {
	for i, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.')) {
			return false
		}
	}
	return p != ""
}

// tapReader reads the connection and shows the tap what it read.
type tapReader struct {
	r io.Reader
	t *tap
}

func (tr *tapReader) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	if n > 0 {
		tr.t.received(p[:n])
	}
	return n, err
}

// fieldPtr points at the field name of the struct ptr points to, when the
// field is there with type T; else it returns nil.
func fieldPtr[T any](ptr any, name string) *T {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != reflect.TypeFor[T]() {
		return nil
	}
	return (*T)(unsafe.Pointer(f.UnsafeAddr()))
}
