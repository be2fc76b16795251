package jingle

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"testing"
	"time"
)

// wireRemote sends el through XML as a peer would see it: marshalled in a
// content, parsed back with transportOf.
func wireRemote(t *testing.T, el any) remoteTransport {
	t.Helper()
	b, err := xml.Marshal(Content{Creator: "initiator", Name: "c", Payload: []any{el}})
	if err != nil {
		t.Fatal(err)
	}
	var c Content
	if err := xml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	r, err := transportOf(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTransportImplementations drives each transport through the
// interface alone, both roles, as SendFile and Receive do: the initiator
// offers element, the responder is built from the offer and answers with
// its element, both open, and bytes cross in the initiator's direction.
func TestTransportImplementations(t *testing.T) {
	loop := []string{"127.0.0.1"}
	tests := []struct {
		name          string
		method        Method
		send, recv    Options
		wantCandidate string // "" for none (IBB)
		wantBlock     int    // the IBB block size both sides settle on
	}{
		{"s5b direct", MethodS5B, Options{CandidateAddrs: loop}, Options{}, TypeDirect, 0},
		{"s5b responder candidate", MethodS5B, Options{}, Options{CandidateAddrs: loop}, TypeDirect, 0},
		{"ibb", MethodIBB, Options{Transport: MethodIBB, BlockSize: 8192}, Options{BlockSize: 2048}, "", 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := pair(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tt.send.defaults()
			tt.recv.defaults()
			sid := newID()
			is := a.m.newSession(bob, sid, true)
			rs := b.m.newSession(alice, sid, false)
			rs.initiatorJID = alice

			var it transport
			it, err := offerTransport(is, newID(), &tt.send)
			if err != nil {
				t.Fatal(err)
			}
			defer it.close()
			if it.method() != tt.method {
				t.Fatalf("initiator method %s, want %s", it.method(), tt.method)
			}
			offer := wireRemote(t, it.element())
			if offer.kind != tt.method {
				t.Fatalf("offered element parses as %q, want %s", offer.kind, tt.method)
			}
			o := &Offer{Transport: offer.kind, s5b: offer.s5b, ibb: offer.ibb}
			var rt transport
			rt, cond, err := acceptTransport(rs, o, &tt.recv)
			if err != nil {
				t.Fatalf("accept: %v (%s)", err, cond)
			}
			defer rt.close()
			if rt.method() != tt.method {
				t.Fatalf("responder method %s, want %s", rt.method(), tt.method)
			}
			answer := wireRemote(t, rt.element())
			if tt.wantBlock > 0 && answer.ibb.BlockSize != tt.wantBlock {
				t.Errorf("responder accepts block size %d, want %d", answer.ibb.BlockSize, tt.wantBlock)
			}
			it.setRemote(answer)

			type opened struct {
				s    io.ReadWriteCloser
				cand *Candidate
				err  error
			}
			rc := make(chan opened, 1)
			go func() {
				s, c, err := rt.open(ctx)
				rc <- opened{s, c, err}
			}()
			is0, icand, err := it.open(ctx)
			if err != nil {
				t.Fatalf("initiator open: %v", err)
			}
			r := <-rc
			if r.err != nil {
				t.Fatalf("responder open: %v", r.err)
			}
			defer r.s.Close()
			for _, c := range []*Candidate{icand, r.cand} {
				got := ""
				if c != nil {
					got = c.Type
				}
				if got != tt.wantCandidate {
					t.Errorf("candidate %q, want %q", got, tt.wantCandidate)
				}
			}
			if tt.wantBlock > 0 {
				if bs := is0.(interface{ BlockSize() int }).BlockSize(); bs != tt.wantBlock {
					t.Errorf("initiator block size %d, want %d", bs, tt.wantBlock)
				}
			}

			data := random(20_000)
			wc := make(chan error, 1)
			go func() {
				_, err := is0.Write(data)
				if err == nil {
					err = is0.Close()
				}
				wc <- err
			}()
			got := make([]byte, len(data))
			if _, err := io.ReadFull(r.s, got); err != nil {
				t.Fatalf("read: %v", err)
			}
			if err := <-wc; err != nil {
				t.Fatalf("write: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Error("received bytes differ from the sent ones")
			}
		})
	}
}

// TestTransportNoCandidate: a SOCKS5 transport without a candidate on
// either side fails with errNoCandidate through the interface, the signal
// the session logic falls back on.
func TestTransportNoCandidate(t *testing.T) {
	a, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var so, ro Options
	so.defaults()
	ro.defaults()
	sid := newID()
	is := a.m.newSession(bob, sid, true)
	rs := b.m.newSession(alice, sid, false)
	it, err := offerTransport(is, newID(), &so)
	if err != nil {
		t.Fatal(err)
	}
	offer := wireRemote(t, it.element())
	rt, _, err := acceptTransport(rs, &Offer{Transport: offer.kind, s5b: offer.s5b}, &ro)
	if err != nil {
		t.Fatal(err)
	}
	it.setRemote(wireRemote(t, rt.element()))
	rc := make(chan error, 1)
	go func() {
		_, _, err := rt.open(ctx)
		rc <- err
	}()
	if _, _, err := it.open(ctx); err != errNoCandidate {
		t.Errorf("initiator open error %v, want errNoCandidate", err)
	}
	if err := <-rc; err != errNoCandidate {
		t.Errorf("responder open error %v, want errNoCandidate", err)
	}
}

// TestAcceptTransportRefusesIBB: --transport s5b refuses an in-band offer
// with unsupported-transports before anything is sent.
func TestAcceptTransportRefusesIBB(t *testing.T) {
	_, b := pair(t)
	rs := b.m.newSession(alice, newID(), false)
	opts := Options{Transport: MethodS5B}
	opts.defaults()
	_, cond, err := acceptTransport(rs, &Offer{Transport: MethodIBB, ibb: &IBBTransport{SID: "x", BlockSize: 4096}}, &opts)
	if err == nil || cond != ReasonUnsupportedTransprt {
		t.Errorf("got %v (%s), want an error with %s", err, cond, ReasonUnsupportedTransprt)
	}
}
