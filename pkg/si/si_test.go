package si

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xmppctl/xmppctl/internal/xmpppair"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/socks5"
	"github.com/xmppctl/xmppctl/pkg/stall"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

const (
	alice = "alice@example.org/a"
	bob   = "bob@example.org/b"
)

type outcome struct {
	res *jingle.Result
	err error
}

func transfer(t *testing.T, data []byte, fi FileInfo, sendOpts, recvOpts Options, decline bool) (outcome, outcome, string) {
	t.Helper()
	return transferFrom(t, bytes.NewReader(data), data, fi, sendOpts, recvOpts, decline)
}

// transferFrom is transfer with the sender reading src (len(data) bytes).
func transferFrom(t *testing.T, src io.Reader, data []byte, fi FileInfo, sendOpts, recvOpts Options, decline bool) (outcome, outcome, string) {
	t.Helper()
	a, b := xmpppair.New(alice, bob)
	defer a.Close()
	defer b.Close()
	ma, mb := NewManager(a, ibb.NewManager(a, 0)), NewManager(b, ibb.NewManager(b, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "out")
	rc := make(chan outcome, 1)
	incoming := mb.Incoming()
	go func() {
		select {
		case o := <-incoming:
			if o.Name != fi.Name || o.Size != int64(len(data)) || o.Peer != alice {
				rc <- outcome{nil, errors.New("offer does not describe the file")}
				o.Decline()
				return
			}
			if decline {
				o.Decline()
				rc <- outcome{}
				return
			}
			f, err := os.Create(path + ".part")
			if err != nil {
				rc <- outcome{nil, err}
				return
			}
			defer f.Close()
			r, err := o.Receive(ctx, f, func() error { return os.Rename(path+".part", path) }, recvOpts)
			rc <- outcome{r, err}
		case <-ctx.Done():
			rc <- outcome{nil, ctx.Err()}
		}
	}()
	fi.Size = int64(len(data))
	r, err := ma.SendFile(ctx, bob, fi, src, sendOpts)
	return outcome{r, err}, <-rc, path
}

func TestTransfer(t *testing.T) {
	data := make([]byte, 200_000)
	_, _ = rand.Read(data)
	sum, _ := MD5(bytes.NewReader(data))
	loop := []string{"127.0.0.1"}
	tests := []struct {
		name          string
		send, recv    Options
		md5           string
		wantTransport string
		wantVerified  bool
	}{
		{"socks5 direct", Options{CandidateAddrs: loop}, Options{}, sum, "s5b-direct", true},
		{"ibb chosen by receiver", Options{CandidateAddrs: loop}, Options{Transport: "ibb"}, sum, "ibb", true},
		{"ibb only offered", Options{Transport: "ibb"}, Options{}, "", "ibb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so, ro, path := transfer(t, data, FileInfo{Name: "f.bin", MD5: tt.md5}, tt.send, tt.recv, false)
			if so.err != nil || ro.err != nil {
				t.Fatalf("send %v, receive %v", so.err, ro.err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, data) {
				t.Fatalf("received %d bytes, want the %d sent", len(got), len(data))
			}
			if so.res.Transport != tt.wantTransport || ro.res.Transport != tt.wantTransport {
				t.Errorf("transport %s/%s, want %s", so.res.Transport, ro.res.Transport, tt.wantTransport)
			}
			if ro.res.Verified != tt.wantVerified {
				t.Errorf("verified %v, want %v", ro.res.Verified, tt.wantVerified)
			}
		})
	}
}

func TestDecline(t *testing.T) {
	so, _, _ := transfer(t, []byte("x"), FileInfo{Name: "x"}, Options{Transport: "ibb"}, Options{}, true)
	if !errors.Is(so.err, ErrDeclined) {
		t.Errorf("SendFile error = %v, want ErrDeclined", so.err)
	}
}

func TestMD5Mismatch(t *testing.T) {
	_, ro, path := transfer(t, []byte("the data"), FileInfo{Name: "x", MD5: "00000000000000000000000000000000"},
		Options{Transport: "ibb"}, Options{}, false)
	if !errors.Is(ro.err, ErrHashMismatch) {
		t.Errorf("Receive error = %v, want ErrHashMismatch", ro.err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("file committed despite the mismatch")
	}
}

func TestNoCommonMethod(t *testing.T) {
	so, ro, _ := transfer(t, []byte("x"), FileInfo{Name: "x"}, Options{Transport: "ibb"}, Options{Transport: "s5b"}, false)
	if ro.err == nil || !errors.Is(so.err, ErrDeclined) {
		t.Errorf("send %v, receive %v; want both to fail", so.err, ro.err)
	}
}

func TestOfferXML(t *testing.T) {
	// XEP-0096 Example 1, as another client would send it.
	raw := `<si xmlns='http://jabber.org/protocol/si' id='a0' mime-type='text/plain' profile='http://jabber.org/protocol/si/profile/file-transfer'>
    <file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='test.txt' size='1022' hash='552da749930852c69ae5d2141d3766b1' date='1969-07-21T02:56:15Z'>
      <desc>This is a test. If this were a real file...</desc>
    </file>
    <feature xmlns='http://jabber.org/protocol/feature-neg'>
      <x xmlns='jabber:x:data' type='form'>
        <field var='stream-method' type='list-single'>
          <option><value>http://jabber.org/protocol/bytestreams</value></option>
          <option><value>http://jabber.org/protocol/ibb</value></option>
        </field>
      </x>
    </feature>
  </si>`
	var el stanza.Element
	if err := xml.Unmarshal([]byte(raw), &el); err != nil {
		t.Fatal(err)
	}
	s, err := ParseSI(el)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "a0" || s.File.Name != "test.txt" || s.File.Size != 1022 || s.File.Hash != "552da749930852c69ae5d2141d3766b1" {
		t.Errorf("parsed %+v %+v", s, s.File)
	}
	if m := s.methods(); len(m) != 2 || m[0] != MethodS5B || m[1] != MethodIBB {
		t.Errorf("methods %v", m)
	}
	b, err := xml.Marshal(SI{Feature: answerFeature(MethodIBB)})
	if err != nil {
		t.Fatal(err)
	}
	want := `<si xmlns="http://jabber.org/protocol/si"><feature xmlns="http://jabber.org/protocol/feature-neg"><x xmlns="jabber:x:data" type="submit"><field var="stream-method"><value>http://jabber.org/protocol/ibb</value></field></x></feature></si>`
	if string(b) != want {
		t.Errorf("answer\n got %s\nwant %s", b, want)
	}
}

func FuzzParseSI(f *testing.F) {
	f.Add([]byte(`<si xmlns='http://jabber.org/protocol/si' id='a0' profile='http://jabber.org/protocol/si/profile/file-transfer'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='x' size='1'/></si>`))
	f.Add([]byte(`<si xmlns='http://jabber.org/protocol/si' id='a0'><file xmlns='http://jabber.org/protocol/si/profile/file-transfer' name='x' size='-1'/></si>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var el stanza.Element
		if xml.Unmarshal(b, &el) != nil {
			return
		}
		s, err := ParseSI(el)
		if err != nil {
			return
		}
		if s.File != nil && s.File.Size < 0 {
			t.Fatal("negative size accepted")
		}
		_ = s.methods()
	})
}

// stuckReader returns its first n bytes, then blocks until released.
type stuckReader struct {
	r       io.Reader
	n       int
	release chan struct{}
}

func (s *stuckReader) Read(p []byte) (int, error) {
	if s.n == 0 {
		<-s.release
		return 0, io.ErrClosedPipe
	}
	k, err := s.r.Read(p[:min(len(p), s.n)])
	s.n -= k
	return k, err
}

// TestStall: a sender that stops writing ends the transfer on the
// receiving side after the idle time, as a timeout, over both streams.
func TestStall(t *testing.T) {
	data := make([]byte, 1<<20)
	for _, tr := range []jingle.Method{jingle.MethodS5B, jingle.MethodIBB} {
		t.Run(string(tr), func(t *testing.T) {
			src := &stuckReader{r: bytes.NewReader(data), n: 100_000, release: make(chan struct{})}
			time.AfterFunc(2*time.Second, func() { close(src.release) }) // lets the sender go
			_, ro, _ := transferFrom(t, src, data, FileInfo{Name: "x"},
				Options{Transport: tr, CandidateAddrs: []string{"127.0.0.1"}, Timeout: time.Minute},
				Options{Timeout: 300 * time.Millisecond}, false)
			var se *stall.Error
			if !errors.As(ro.err, &se) || !errors.Is(ro.err, context.DeadlineExceeded) {
				t.Fatalf("receive error %v, want a stall", ro.err)
			}
		})
	}
}

// TestNoDialBeforeAccept (issue 14 defect 8): a sender that sends its
// streamhosts before the offer was accepted (the prompt still showing)
// gets an error, and no connection reaches the streamhost.
func TestNoDialBeforeAccept(t *testing.T) {
	a, b := xmpppair.New(alice, bob)
	defer a.Close()
	defer b.Close()
	mb := NewManager(b, ibb.NewManager(b, 0))
	incoming := mb.Incoming()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Each connection is counted before it is closed, and the receiver's
	// SOCKS5 dial fails only once it is closed: so a dial made before the
	// streamhost IQ was answered is counted by the time the answer arrives.
	dialed := make(chan struct{}, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			dialed <- struct{}{}
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	sid := "sid-1"
	offer := SI{ID: sid, Profile: NSProfile, File: &File{Name: "f", Size: 10}, Feature: offerFeature([]string{MethodS5B})}
	offerDone := make(chan error, 1)
	go func() {
		_, err := a.SendIQ(ctx, stanza.IQ{Type: "set", To: bob, Payload: offer})
		offerDone <- err
	}()
	var o *Offer
	select {
	case o = <-incoming: // the offer is now waiting for the user
	case <-ctx.Done():
		t.Fatal("no offer")
	}
	port := l.Addr().(*net.TCPAddr).Port
	_, err = a.SendIQ(ctx, stanza.IQ{Type: "set", To: bob, Payload: socks5.Query{SID: sid, Mode: "tcp",
		StreamHosts: []socks5.StreamHost{{JID: alice, Host: "127.0.0.1", Port: port}}}})
	var se *stanza.Error
	if !errors.As(err, &se) {
		t.Errorf("streamhosts before the accept: %v, want an error reply", err)
	}
	select {
	case <-dialed:
		t.Fatal("the receiver connected to the sender's streamhost before the offer was accepted")
	default:
	}
	o.Decline()
	if err := <-offerDone; !errors.As(err, &se) {
		t.Errorf("offer: %v, want declined", err)
	}
}
