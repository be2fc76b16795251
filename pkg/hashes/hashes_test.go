package hashes

import (
	"encoding/xml"
	"testing"
)

func TestSumMatches(t *testing.T) {
	tests := []struct {
		algo, in, want string
	}{
		// echo -n abc | sha256sum | xxd -r -p | base64
		{"sha-256", "abc", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
		{"sha-1", "abc", "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="},
	}
	for _, tt := range tests {
		t.Run(tt.algo, func(t *testing.T) {
			h, err := New(tt.algo)
			if err != nil {
				t.Fatal(err)
			}
			h.Write([]byte(tt.in))
			got := Sum(tt.algo, h)
			if got.Value != tt.want {
				t.Errorf("Sum = %s, want %s", got.Value, tt.want)
			}
			if !got.Matches(h.Sum(nil)) {
				t.Error("Matches(own sum) = false")
			}
			if (Hash{Algo: tt.algo, Value: tt.want}).Matches([]byte("other")) {
				t.Error("Matches(other) = true")
			}
		})
	}
	if _, err := New("md4"); err == nil {
		t.Error("New(md4) succeeded")
	}
}

func TestPick(t *testing.T) {
	list := []Hash{{Algo: "sha-1", Value: "AA=="}, {Algo: "sha-256", Value: ""}, {Algo: "sha-512", Value: "AQ=="}, {Algo: "foo", Value: "AQ=="}}
	got, ok := Pick(list)
	if !ok || got.Algo != "sha-512" {
		t.Errorf("Pick = %v, %v; want sha-512", got, ok)
	}
	if _, ok := Pick([]Hash{{Algo: "sha-256"}}); ok {
		t.Error("Pick chose an empty hash")
	}
}

func TestXML(t *testing.T) {
	b, err := xml.Marshal(Hash{Algo: "sha-256", Value: "AQ=="})
	if err != nil {
		t.Fatal(err)
	}
	want := `<hash xmlns="urn:xmpp:hashes:2" algo="sha-256">AQ==</hash>`
	if string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`<hash xmlns='urn:xmpp:hashes:2' algo='sha-256'>ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=</hash>`)
	f.Fuzz(func(t *testing.T, s string) {
		var h Hash
		if xml.Unmarshal([]byte(s), &h) != nil {
			return
		}
		_, _ = h.Decode()
		_ = h.Matches([]byte{1})
	})
}

func TestMatchesHexCompat(t *testing.T) {
	h, _ := New("sha-256")
	h.Write([]byte("abc"))
	sum := h.Sum(nil)
	// What libervia 0.9 sends: base64 of the hex digest.
	lib := Hash{Algo: "sha-256", Value: "YmE3ODE2YmY4ZjAxY2ZlYTQxNDE0MGRlNWRhZTIyMjNiMDAzNjFhMzk2MTc3YTljYjQxMGZmNjFmMjAwMTVhZA=="}
	if !lib.Matches(sum) {
		t.Error("hex-in-base64 form of the right digest does not match")
	}
	if lib.Matches(make([]byte, 32)) {
		t.Error("hex-in-base64 form matches a different digest")
	}
}
