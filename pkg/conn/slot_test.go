package conn

import (
	"os"
	"regexp"
	"runtime"
	"testing"
)

func TestLeaseSlotInProcess(t *testing.T) {
	dir := t.TempDir()
	a, relA, ok := leaseSlot(dir)
	if !ok || a != 0 {
		t.Fatalf("first lease: slot %d ok=%v, want 0", a, ok)
	}
	b, relB, _ := leaseSlot(dir)
	if b != 1 {
		t.Fatalf("second concurrent lease: slot %d, want 1", b)
	}
	relA()
	relA() // idempotent: must not free a slot someone else leased since
	c, relC, _ := leaseSlot(dir)
	if c != 0 {
		t.Fatalf("lease after slot 0 was handed back: slot %d, want 0 (a reconnect keeps its slot)", c)
	}
	relB()
	relC()
	for _, n := range []int{0, 1} {
		fi, err := os.Stat(slotFile(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", fi.Name(), fi.Mode().Perm())
		}
	}
}

func TestIdentityForSlot(t *testing.T) {
	id := Identity{Resource: "xmppctl.abcde", UserAgentID: "3f0c7a4e-2b1d-4c5e-9a8b-0123456789ab"}
	if got := id.forSlot(0); got != id {
		t.Errorf("slot 0 = %+v, want the stored identity", got)
	}
	one, two := id.forSlot(1), id.forSlot(2)
	if one.Resource != "xmppctl.abcde.1" || two.Resource != "xmppctl.abcde.2" {
		t.Errorf("resources %q %q", one.Resource, two.Resource)
	}
	if one != id.forSlot(1) {
		t.Error("slot 1 identity is not stable")
	}
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, u := range []string{one.UserAgentID, two.UserAgentID} {
		if !v4.MatchString(u) || u == id.UserAgentID {
			t.Errorf("derived user-agent id %q: want a distinct UUIDv4", u)
		}
	}
	if one.UserAgentID == two.UserAgentID {
		t.Error("slots 1 and 2 share a user-agent id")
	}
}
