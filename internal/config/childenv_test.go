package config

import (
	"slices"
	"testing"
)

func TestChildEnvDropsSecrets(t *testing.T) {
	in := []string{"PATH=/bin", "XMPPCTL_PASSWORD=pw", "XMPPCTL_ROOM_PASSWORD=room", "XMPPCTL_JID=a@b",
		"XMPPCTL_FAST_TOKEN=t", "xmppctl_password=lower", "HOME=/root", "MY_PASSWORD=not ours", "XMPPCTL_CONFIG=/c"}
	got := ChildEnv(in)
	want := []string{"PATH=/bin", "XMPPCTL_JID=a@b", "HOME=/root", "MY_PASSWORD=not ours", "XMPPCTL_CONFIG=/c"}
	if !slices.Equal(got, want) {
		t.Errorf("ChildEnv = %q, want %q", got, want)
	}
}
