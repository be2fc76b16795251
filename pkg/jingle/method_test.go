package jingle

import (
	"flag"
	"testing"
)

var _ flag.Value = (*Method)(nil)

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in       string
		want     Method
		wantErr  bool
		s5b, ibb bool
	}{
		{"auto", MethodAuto, false, true, true},
		{"s5b", MethodS5B, false, true, false},
		{"ibb", MethodIBB, false, false, true},
		{"", "", true, true, true},
		{"IBB", "", true, true, true},
		{"pigeon", "", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMethod(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseMethod(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			m := MethodS5B
			err = m.Set(tt.in)
			if tt.wantErr && (err == nil || m != MethodS5B) {
				t.Fatalf("Set(%q) accepted it or changed the value to %q", tt.in, m)
			}
			if !tt.wantErr && (err != nil || m != tt.want || m.String() != tt.in) {
				t.Fatalf("Set(%q) = %q, %v", tt.in, m, err)
			}
			if got.AllowsS5B() != tt.s5b || got.AllowsIBB() != tt.ibb {
				t.Errorf("%q allows s5b %v, ibb %v; want %v, %v", got, got.AllowsS5B(), got.AllowsIBB(), tt.s5b, tt.ibb)
			}
		})
	}
}
