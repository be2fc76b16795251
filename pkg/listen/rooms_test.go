package listen

import "testing"

func TestMentions(t *testing.T) {
	tests := []struct {
		body, nick string
		want       bool
	}{
		{"bot: deploy", "bot", true},
		{"ask @Bot please", "bot", true},
		{"robots are here", "bot", false},
		{"bots", "bot", false},
		{"hello ci-bot!", "ci-bot", true},
		{"hello ci-bot2", "ci-bot", false},
		{"xbot bot", "bot", true},
		{"", "bot", false},
		{"bot", "", false},
		{"ÉCLAIR, tu es là ?", "éclair", true},
		{"\xff\xfebot", "bot", true},
	}
	for _, tt := range tests {
		if got := Mentions(tt.body, tt.nick); got != tt.want {
			t.Errorf("Mentions(%q, %q) = %v, want %v", tt.body, tt.nick, got, tt.want)
		}
	}
}

func FuzzMentions(f *testing.F) {
	f.Add("bot: hi", "bot")
	f.Add("\xff", "\xff")
	f.Fuzz(func(t *testing.T, body, nick string) { _ = Mentions(body, nick) })
}
