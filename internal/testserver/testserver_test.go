package testserver

import "testing"

// TestPortTaken: the start failures worth a retry with fresh ports are
// ejabberd's and Prosody's words for a port another process bound first.
func TestPortTaken(t *testing.T) {
	for log, want := range map[string]bool{
		"{failed_to_start_child,{60293,{127,0,0,1},tcp},eaddrinuse}}}}}":       true,
		"Failed to open server port 5222 on 127.0.0.1: address already in use": true,
		"test-server: mod_sasl2 not found":                                     false,
		"":                                                                     false,
	} {
		if got := portTaken(log); got != want {
			t.Errorf("portTaken(%q) = %v, want %v", log, got, want)
		}
	}
}
