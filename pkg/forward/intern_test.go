package forward

import "testing"

func TestIntern(t *testing.T) {
	for _, name := range []string{"message", "result", "forwarded", "delay", "body", "stanza-id",
		"origin-id", "xmlns", "from", "to", "id", "type", "stamp", "queryid", "by", "a", "r", "h",
		"other", "", "messages", "Message"} {
		b := []byte(name)
		if got := Intern(b); got != name {
			t.Errorf("Intern(%q) = %q", name, got)
		}
	}
	// The names an archive page repeats cost nothing; the string returned
	// for any other name is a copy, not a view of the buffer.
	b := []byte("stanza-id")
	if n := testing.AllocsPerRun(100, func() { _ = Intern(b) }); n != 0 {
		t.Errorf("Intern(stanza-id): %v allocations", n)
	}
	other := []byte("other")
	s := Intern(other)
	other[0] = 'X'
	if s != "other" {
		t.Errorf("Intern's copy changed with the buffer: %q", s)
	}
}
